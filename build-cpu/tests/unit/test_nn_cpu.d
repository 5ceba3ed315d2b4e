build-cpu/tests/unit/test_nn_cpu.o: tests/unit/test_nn_cpu.c \
 libshared/err.h libshared/nn/backend.h libshared/rng.h
libshared/err.h:
libshared/nn/backend.h:
libshared/rng.h:
