# mk/bench-feed.mk — make bench-feed: img/s and CPU per image of
# imgload (cached) | augment | batch 32 for --jobs 1 and 2 (issue 19);
# results in bench/results/feed.md (see bench/bench-feed.sh).
#   JOBS="1 2 4" EPOCHS=30 REPEAT=5 in the environment change the runs.
.PHONY: bench-feed
bench-feed: bin/imgload bin/augment bin/batch
	bench/bench-feed.sh -o bench/results/feed.md
BENCH_TARGETS += bench-feed
