# mk/mpi.mk — Open MPI for data-parallel nntrain (libshared/nn/dist/).
#   MPI=1 (default): mpi.h from Debian's libopenmpi-dev (listed by check-deps
#   when missing); only nntrain links MPI.  MPI=0: a build without MPI
#   (single process; nntrain --dist and a launch on several ranks refused).
MPI        ?= 1
ifeq ($(MPI),1)
  $(call need_header,*/openmpi/mpi.h,libopenmpi-dev)
  MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile 2>/dev/null)
  MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || mpicc --showme:link 2>/dev/null)
  $(B)/libshared/nn/dist/%.o: CPPFLAGS += $(MPI_CFLAGS) -DRADPIPE_MPI
  LDLIBS_nntrain += $(MPI_LIBS)
  TEST_LDLIBS_MPI := $(MPI_LIBS)
endif
