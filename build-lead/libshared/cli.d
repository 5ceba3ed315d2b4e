build-lead/libshared/cli.o: libshared/cli.c libshared/cli.h \
 libshared/err.h
libshared/cli.h:
libshared/err.h:
