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

# make bench-dist [BENCH_DIST_ARGS="--size 299 --batch 32 --epochs 3"]: 1 rank x 2 threads against 2 ranks x 1 thread on
# InceptionV3, the all-reduce's overlap with backward, and the MPI
# all-reduce of 87 MB -> bench/results/dist.md (bench/bench-dist.sh)
ifeq ($(MPI),1)
BENCH_TARGETS += bench-dist
$(B)/bench/bench_allreduce: bench/bench_allreduce.c | check-deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(MPI_CFLAGS) $(CFLAGS) $< -o $@ $(MPI_LIBS)

.PHONY: bench-dist
bench-dist: bin/nntrain bin/imgload bin/batch $(B)/bench/bench_allreduce
	bench/bench-dist.sh --allreduce $(B)/bench/bench_allreduce $(BENCH_DIST_ARGS) -o bench/results/dist.md
endif
