# nnimport and the Keras HDF5 reader (libshared/nn/modelfile/h5keras.c) need libhdf5:
# Debian's libhdf5-dev installs it as pkg-config "hdf5-serial" (or "hdf5").
HDF5_PC    := $(shell pkg-config --exists hdf5-serial 2>/dev/null && echo hdf5-serial || echo hdf5)
CPPFLAGS   += $(shell pkg-config --cflags $(HDF5_PC) 2>/dev/null)
NN_LDLIBS  += $(shell pkg-config --libs $(HDF5_PC) 2>/dev/null || echo -lhdf5)
ifeq ($(shell pkg-config --exists $(HDF5_PC) 2>/dev/null && echo y),)
  $(call need_header,hdf5/serial/hdf5.h,libhdf5-dev)
endif
