build-lead/filters/imgload.o: filters/imgload.c libshared/cli.h \
 libshared/dataset.h libshared/image.h libshared/tensor.h libshared/err.h \
 libshared/fileio.h libshared/frame.h libshared/image.h \
 libshared/resize.h libshared/rng.h libshared/sha256.h
libshared/cli.h:
libshared/dataset.h:
libshared/image.h:
libshared/tensor.h:
libshared/err.h:
libshared/fileio.h:
libshared/frame.h:
libshared/image.h:
libshared/resize.h:
libshared/rng.h:
libshared/sha256.h:
