# mk/bench-inception.mk — make bench-inception: InceptionV3 299x299 on the
# cpu backend (inference batch 1/5/32, training batch 5/16/32: img/s, peak
# RSS, time per op kind), with PyTorch side by side when bench/venv has
# torch -> bench/results/inception.md.
#   BENCH_INCEPTION_ARGS="--quick" for a short run.
#   BENCH_BEFORE_BIN=cmd: an older build of bench_inception (or a command
#   such as "env RADPIPE_CPU_LAYOUT=nhwc build/bench/bench_inception"),
#   run right before each configuration (same machine load) for the
#   "before" columns; else bench/results/inception_before.tsv if present.
BENCH_TARGETS += bench-inception
BENCH_INCEPTION_ARGS ?=
BENCH_TORCH_PY := bench/venv/bin/python
BENCH_BEFORE_BIN ?=

$(B)/bench/bench_inception: $(B)/bench/bench_inception.o $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(LDLIBS)

.PHONY: bench-inception
bench-inception: $(B)/bench/bench_inception
	@mkdir -p bench/results
	@if $(BENCH_TORCH_PY) -c 'import torch, torchvision' 2>/dev/null; then \
		$(BENCH_TORCH_PY) bench/bench_inception_torch.py $(BENCH_INCEPTION_ARGS) \
		    -o $(B)/bench/inception_torch.tsv; \
	else \
		echo "bench-inception: no torch in bench/venv: the torch columns stay empty"; \
		rm -f $(B)/bench/inception_torch.tsv; \
	fi
	$(B)/bench/bench_inception $(BENCH_INCEPTION_ARGS) \
	    --torch $(B)/bench/inception_torch.tsv \
	    $(if $(BENCH_BEFORE_BIN),--before-bin '$(BENCH_BEFORE_BIN)',--before bench/results/inception_before.tsv) \
	    -t $(B)/bench/inception.tsv -o bench/results/inception.md
