build-cpu/libshared/nn/backend.o: libshared/nn/backend.c \
 libshared/nn/backend.h
libshared/nn/backend.h:
