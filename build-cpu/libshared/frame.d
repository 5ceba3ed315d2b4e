build-cpu/libshared/frame.o: libshared/frame.c libshared/frame.h \
 libshared/tensor.h libshared/err.h
libshared/frame.h:
libshared/tensor.h:
libshared/err.h:
