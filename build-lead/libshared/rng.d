build-lead/libshared/rng.o: libshared/rng.c libshared/rng.h
libshared/rng.h:
