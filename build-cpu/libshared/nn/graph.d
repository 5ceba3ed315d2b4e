build-cpu/libshared/nn/graph.o: libshared/nn/graph.c libshared/err.h \
 libshared/rng.h libshared/nn/nn_impl.h libshared/nn/nn.h \
 libshared/nn/backend.h
libshared/err.h:
libshared/rng.h:
libshared/nn/nn_impl.h:
libshared/nn/nn.h:
libshared/nn/backend.h:
