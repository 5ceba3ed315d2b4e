build-cpu/libshared/dataset.o: libshared/dataset.c libshared/dataset.h \
 libshared/image.h libshared/tensor.h libshared/err.h libshared/rng.h
libshared/dataset.h:
libshared/image.h:
libshared/tensor.h:
libshared/err.h:
libshared/rng.h:
