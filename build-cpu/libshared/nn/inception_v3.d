build-cpu/libshared/nn/inception_v3.o: libshared/nn/inception_v3.c \
 libshared/err.h libshared/nn/nn.h libshared/nn/backend.h
libshared/err.h:
libshared/nn/nn.h:
libshared/nn/backend.h:
