#!/usr/bin/env bash
# project-scale.sh — a PROJECTION (not a measurement) of data-parallel
# step time and scaling efficiency from a compute rate and an all-reduce
# bus bandwidth, for the table in bench/results/scale.md.
#   bench/project-scale.sh IMG_PER_S BUSBW_GBS GPUS BATCH [BYTES] [BUCKET_MB]
# IMG_PER_S: one device's training images/s (forward + backward, no
# communication); BUSBW_GBS: the all-reduce bus bandwidth in GB/s as
# nccl-tests reports it (busbw = algbw * 2(n-1)/n); GPUS: ranks; BATCH:
# images per rank per step; BYTES: gradient bytes (default InceptionV3's
# 21,802,784 fp32 parameters); BUCKET_MB: the last bucket, which cannot
# hide behind backward (default 25, nntrain's --bucket-mb).
# Model: compute = BATCH / IMG_PER_S, of which backward is 2/3 (two of the
# three passes); all-reduce = BYTES * 2(n-1)/n / busbw; without overlap
# the step is compute + all-reduce; with overlap the all-reduce runs under
# backward and only what does not fit, or at least the last bucket, shows.
# Prints: step ms (no overlap), step ms (overlap), efficiency of each
# (compute / step), aggregate images/s with overlap.
set -eu
[ $# -ge 4 ] || { echo "usage: project-scale.sh IMG_PER_S BUSBW_GBS GPUS BATCH [BYTES] [BUCKET_MB]" >&2; exit 2; }
awk -v ips="$1" -v bw="$2" -v n="$3" -v b="$4" -v bytes="${5:-87211136}" \
    -v bucket="${6:-25}" 'BEGIN {
	comp = b / ips
	bwd = comp * 2 / 3
	f = n > 1 ? 2 * (n - 1) / n : 0
	ar = bytes * f / (bw * 1e9)
	last = (bucket * 1e6 < bytes ? bucket * 1e6 : bytes) * f / (bw * 1e9)
	hidden = ar - last < bwd ? ar - last : bwd
	if (hidden < 0) hidden = 0
	s0 = comp + ar
	s1 = comp + ar - hidden
	printf "%.2f %.2f %.0f%% %.0f%% %.0f\n", 1e3 * s0, 1e3 * s1, 100 * comp / s0, 100 * comp / s1, n * b / s1
}'
