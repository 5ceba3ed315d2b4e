# augment(1) and libshared/affine.c.
# The warp must give the same bits on every machine: no fused multiply-add
# contraction (GCC's default outside ISO mode), so a*b+c rounds twice as
# written, like scipy's reference.
$(B)/libshared/affine.o $(B)/filters/augment.o: CFLAGS += -ffp-contract=off

# bench-augment: img/s of augment vs torchvision at 299x299x3 u8 (see
# bench/bench-augment.sh); results in bench/results/augment.md.
.PHONY: bench-augment
bench-augment: bin/augment
	bench/bench-augment.sh
BENCH_TARGETS += bench-augment
