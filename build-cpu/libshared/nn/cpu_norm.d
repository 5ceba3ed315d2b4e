build-cpu/libshared/nn/cpu_norm.o: libshared/nn/cpu_norm.c \
 libshared/err.h libshared/nn/backend.h libshared/nn/cpu_impl.h
libshared/err.h:
libshared/nn/backend.h:
libshared/nn/cpu_impl.h:
