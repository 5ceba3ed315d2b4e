build-cpu/libshared/nn/ref.o: libshared/nn/ref.c libshared/err.h \
 libshared/nn/backend.h libshared/nn/ref_ops.h libshared/rng.h
libshared/err.h:
libshared/nn/backend.h:
libshared/nn/ref_ops.h:
libshared/rng.h:
