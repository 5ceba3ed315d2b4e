# mk/cpu.mk — the "cpu" backend (libshared/nn/cpu/) on oneDNN, and its
# benchmark.  oneDNN (Debian libdnnl-dev) runs on OpenMP (libgomp); the
# backend's own loops use OpenMP too.

$(call need_header,oneapi/dnnl/dnnl.h,libdnnl-dev)

$(B)/libshared/nn/cpu/%.o: CFLAGS += -fopenmp -fno-math-errno
# the fused BN+ReLU backward's masked sums vectorise only when a float ->
# double conversion may be computed where its result is not used (values
# and roundings stay the same; see cpu_bnbwd.c)
$(B)/libshared/nn/cpu/cpu_bnbwd.o: CFLAGS += -fno-trapping-math
NN_LDLIBS += -ldnnl -fopenmp

# make bench-ops: GFLOP/s of the InceptionV3 convolutions -> bench/results/ops.md
#   BENCH_OPS_ARGS="--quick" for a short run (a few shapes, batch 5).
BENCH_TARGETS += bench-ops
BENCH_OPS_ARGS ?=

$(B)/bench/bench_ops: $(B)/bench/bench_ops.o $(B)/bench/benchutil.o $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< $(B)/bench/benchutil.o -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) -lopenblas $(LDLIBS)

.PHONY: bench-ops
bench-ops: $(B)/bench/bench_ops
	@mkdir -p bench/results
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(B)/bench/bench_ops $(BENCH_OPS_ARGS) -o bench/results/ops.md

# bench_pool: ms of the cpu backend's pooling on InceptionV3's pooling
# shapes (a markdown table on stdout; not part of make bench).
$(B)/bench/bench_pool: $(B)/bench/bench_pool.o $(B)/bench/benchutil.o $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< $(B)/bench/benchutil.o -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(LDLIBS)
