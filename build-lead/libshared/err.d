build-lead/libshared/err.o: libshared/err.c libshared/err.h
libshared/err.h:
