build-lead/libshared/sha256.o: libshared/sha256.c libshared/sha256.h
libshared/sha256.h:
