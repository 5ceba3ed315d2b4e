build-cpu/libshared/fileio.o: libshared/fileio.c libshared/fileio.h \
 libshared/err.h
libshared/fileio.h:
libshared/err.h:
