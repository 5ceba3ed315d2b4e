build-cpu/libshared/tensor.o: libshared/tensor.c libshared/tensor.h \
 libshared/err.h
libshared/tensor.h:
libshared/err.h:
