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

# make bench-models: the same benchmark (--quick: inference and training at
# batch 5) for each architecture of issue 20 at 224x224 (Keras' default
# size for them) beside torchvision's implementation of the same network,
# into bench/results/models.md (one section per architecture).
BENCH_MODELS ?= resnet50 densenet121 mobilenet_v2
BENCH_MODELS_ARGS ?= --quick --size 224
.PHONY: bench-models
bench-models: $(B)/bench/bench_inception
	@mkdir -p bench/results
	@rm -f $(B)/bench/models.md
	@for a in $(BENCH_MODELS); do \
		if $(BENCH_TORCH_PY) -c 'import torch, torchvision' 2>/dev/null; then \
			$(BENCH_TORCH_PY) bench/bench_inception_torch.py --arch $$a $(BENCH_MODELS_ARGS) \
			    -o $(B)/bench/$$a.torch.tsv || exit 1; \
		else \
			echo "bench-models: no torch in bench/venv: the torch columns stay empty"; \
			rm -f $(B)/bench/$$a.torch.tsv; \
		fi; \
		$(B)/bench/bench_inception --arch $$a $(BENCH_MODELS_ARGS) --torch $(B)/bench/$$a.torch.tsv \
		    -o $(B)/bench/$$a.md || exit 1; \
		cat $(B)/bench/$$a.md >> $(B)/bench/models.md; echo >> $(B)/bench/models.md; \
	done
	@mv $(B)/bench/models.md bench/results/models.md
	@echo "bench-models: bench/results/models.md"
BENCH_TARGETS += bench-models

# make bench-profile: where a step goes (oneDNN's own timings per category:
# convolutions, reorders of activations and of weights, BN, pooling, and
# the time outside oneDNN), radpipe beside PyTorch, one thread ->
# bench/results/profile.md.  BENCH_PROFILE_ARGS="-p fp32 infer:5" etc.
BENCH_TARGETS += bench-profile
BENCH_PROFILE_ARGS ?= -p bf16 train:5
.PHONY: bench-profile
bench-profile: $(B)/bench/bench_inception
	@mkdir -p bench/results
	bench/bench-profile.sh $(BENCH_PROFILE_ARGS) > $(B)/bench/profile.md
	@mv $(B)/bench/profile.md bench/results/profile.md
	@echo "bench-profile: bench/results/profile.md"
