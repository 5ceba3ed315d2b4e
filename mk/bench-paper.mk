# The paper's full run, radpipe vs PyTorch (bench/bench-paper.sh).
BENCH_TARGETS += bench-paper
.PHONY: bench-paper
bench-paper: all
	bench/bench-paper.sh
