build-lead/libshared/resize.o: libshared/resize.c libshared/resize.h \
 libshared/tensor.h libshared/err.h
libshared/resize.h:
libshared/tensor.h:
libshared/err.h:
