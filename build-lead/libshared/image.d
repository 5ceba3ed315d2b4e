build-lead/libshared/image.o: libshared/image.c libshared/image.h \
 libshared/tensor.h libshared/err.h libshared/png.h
libshared/image.h:
libshared/tensor.h:
libshared/err.h:
libshared/png.h:
