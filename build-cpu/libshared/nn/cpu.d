build-cpu/libshared/nn/cpu.o: libshared/nn/cpu.c libshared/err.h \
 libshared/nn/backend.h libshared/nn/cpu_impl.h
libshared/err.h:
libshared/nn/backend.h:
libshared/nn/cpu_impl.h:
