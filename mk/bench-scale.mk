# mk/bench-scale.mk — make bench-scale: streaming at data-set scale (issue 17).
# imgload | augment | batch | nntrain (small_cnn) over 10,000 and 100,000
# synthetic 32x32 PNGs: peak RSS of every stage, imgload's cache against
# --cache-mb, images/s; results in bench/results/scale.md (see
# bench/bench-scale.sh; about 400 MB of /tmp and a few minutes).
#   BENCH_SCALE_ARGS='--sizes "2000 20000" --runs 1' for a short run.
BENCH_TARGETS += bench-scale
BENCH_SCALE_ARGS ?=

.PHONY: bench-scale
bench-scale: bin/imgload bin/augment bin/batch bin/nntrain
	bench/bench-scale.sh $(BENCH_SCALE_ARGS) -o bench/results/scale.md
