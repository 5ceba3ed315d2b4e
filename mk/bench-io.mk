# mk/bench-io.mk — make bench-io: stream I/O throughput (issue 2).
# imgload img/s on the shared images and on synthetic 2048x2048 PNGs,
# radpipe's png_decode against a bare libpng loop, and batch against cat
# on a pipe; results in bench/results/io.md (see bench/bench-io.sh).
#   BENCH_IO_ARGS="--quick" for a short run.
BENCH_TARGETS += bench-io
BENCH_IO_ARGS ?=

$(B)/bench/bench_png: $(B)/bench/bench_png.o $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< -o $@ $(LIBSHARED) $(LDLIBS)

.PHONY: bench-io
bench-io: bin/imgload bin/batch bin/peek $(B)/bench/bench_png
	bench/bench-io.sh --bench-png $(B)/bench/bench_png $(BENCH_IO_ARGS) -o bench/results/io.md
