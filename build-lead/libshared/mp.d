build-lead/libshared/mp.o: libshared/mp.c libshared/frame.h \
 libshared/tensor.h libshared/err.h
libshared/frame.h:
libshared/tensor.h:
libshared/err.h:
