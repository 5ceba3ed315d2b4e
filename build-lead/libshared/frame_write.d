build-lead/libshared/frame_write.o: libshared/frame_write.c \
 libshared/frame.h libshared/tensor.h libshared/err.h
libshared/frame.h:
libshared/tensor.h:
libshared/err.h:
