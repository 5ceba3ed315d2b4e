build-cpu/libshared/nn/cpu_misc.o: libshared/nn/cpu_misc.c \
 libshared/nn/backend.h libshared/nn/cpu_impl.h libshared/rng.h
libshared/nn/backend.h:
libshared/nn/cpu_impl.h:
libshared/rng.h:
