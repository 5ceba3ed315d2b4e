build-cpu/libshared/png.o: libshared/png.c libshared/png.h \
 libshared/tensor.h libshared/err.h libshared/fileio.h
libshared/png.h:
libshared/tensor.h:
libshared/err.h:
libshared/fileio.h:
