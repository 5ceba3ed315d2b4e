build-cpu/libshared/nn/cpu_conv.o: libshared/nn/cpu_conv.c \
 libshared/err.h libshared/nn/backend.h libshared/nn/cpu_impl.h
libshared/err.h:
libshared/nn/backend.h:
libshared/nn/cpu_impl.h:
