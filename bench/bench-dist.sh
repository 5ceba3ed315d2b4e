#!/usr/bin/env bash
# bench-dist.sh — data-parallel nntrain on this machine (make bench-dist):
# InceptionV3 (+ the paper's head) on the tutorial's TRAIN images, B images
# a rank a step (default 75x75, B 5): 1 rank x 2 threads and 1 rank x 1
# thread (batch 2B, the same global batch) against 2 ranks x 1 thread
# (batch B each), with the all-reduce in 25 MB buckets overlapped with
# backward and without overlap (--bucket-mb 0); then the MPI all-reduce of
# InceptionV3's 87 MB of gradients (bench_allreduce).
#   bench/bench-dist.sh --allreduce BIN [-o FILE] [--epochs N] [--size S]
#                       [--batch B]
# shellcheck disable=SC2086,SC2016,SC2001  # $NN is a word list; rank scripts in single quotes
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${RADPIPE_BIN:-$ROOT/bin}"
out=/dev/stdout allreduce="" epochs=2 size=75 b=5
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	--allreduce) allreduce=$2; shift 2 ;;
	--epochs) epochs=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--batch) b=$2; shift 2 ;;
	*) echo "bench-dist.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
# shellcheck source=tests/lib/inputs.bash
. "$ROOT/tests/lib/inputs.bash"
tests_find_inputs "$ROOT"
[ -n "${RADPIPE_DATA:-}" ] || { echo "bench-dist.sh: needs RADPIPE_DATA (make data)" >&2; exit 1; }
PY=python3; $PY -c 'import msgpack' 2>/dev/null || PY=/usr/bin/python3
# OpenMP threads that spin while waiting make 2 threads 10x slower than 1
# when another process holds a core (measured here: 2.1 against 26.5 img/s)
export OMP_WAIT_POLICY=passive
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

"$BIN/imgload" -q --size "$size" --epochs "$epochs" --shuffle --seed 1 "$RADPIPE_DATA/TRAIN" > "$T/s.mpk"
$PY "$ROOT/tests/lib/shard_samples.py" "$T/s.mpk" "$b" 2 "$T/sh"
for r in 0 1; do "$BIN/batch" "$b" < "$T/sh.$r" > "$T/b.$r"; done
"$BIN/batch" $((2 * b)) < "$T/sh.all" > "$T/b.all"
NN="--arch inception_v3 --lr 1e-4 --seed 1"

last_ips() {	# images/s of the last epoch of history $1
	$PY -c 'import msgpack, sys
print("%.2f" % list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))[-1]["images_per_s"])' "$1"
}

load0=$(cut -d' ' -f1 /proc/loadavg)
"$BIN/nntrain" $NN --threads 2 < "$T/b.all" > "$T/h1" 2> "$T/e1"
one=$(last_ips "$T/h1")
"$BIN/nntrain" $NN --threads 1 < "$T/b.all" > "$T/h1" 2> "$T/e1"
one1=$(last_ips "$T/h1")
declare -A ips bwd wait
for bucket in 25 0; do
	mpirun -np 2 --bind-to none bash -c 'r=$OMPI_COMM_WORLD_RANK
	    exec "$0" "$@" --threads 1 < "'"$T"'/b.$r" > "'"$T"'/h.$r"' \
	    "$BIN/nntrain" $NN --bucket-mb "$bucket" 2> "$T/e2.$bucket"
	ips[$bucket]=$(last_ips "$T/h.0")
	line=$(grep 'ranks,.*backward' "$T/e2.$bucket")
	bwd[$bucket]=$(sed 's/.*backward \([0-9.]*\) s.*/\1/' <<< "$line")
	wait[$bucket]=$(sed 's/.*all-reduce \([0-9.]*\) s.*/\1/' <<< "$line")
done
hidden=$(awk -v a="${wait[25]}" -v b="${wait[0]}" 'BEGIN { printf "%.0f", (b > 0 ? 100 * (1 - a / b) : 0) }')
ar=$(mpirun -np 2 "$allreduce")
load1=$(cut -d' ' -f1 /proc/loadavg)

{
	echo "# Data-parallel nntrain on this machine (make bench-dist)"
	echo
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
	echo "The machine has 2 cores, so 2 ranks cannot be faster than 1 process"
	echo "with 2 threads: the table measures the overhead of data parallelism"
	echo "(the all-reduce, the host copies, two processes sharing the cores),"
	echo "not a speed-up.  Other users shared the machine while it ran (load"
	echo "average $load0 at the start, $load1 at the end): the figures are noisy."
	echo "OMP_WAIT_POLICY=passive for every run."
	echo
	g=$((2 * b)) steps=$((65 / (2 * b)))
	echo "InceptionV3 + head 256/0.5, ${size}x${size}, the tutorial's 65 TRAIN images cut"
	echo "to $((steps * g)) ($steps steps of global batch $g an epoch), $epochs epochs, images/s"
	echo "of the last epoch (rank 0's metrics frame, over both ranks' images)."
	echo "Command: \`bench/bench-dist.sh --size $size --batch $b --epochs $epochs\`."
	echo
	echo "| run | images/s | backward s/step | all-reduce wait s/step |"
	echo "|---|---|---|---|"
	echo "| 1 rank x 2 threads, batch $g | $one | | |"
	echo "| 1 rank x 1 thread, batch $g | $one1 | | |"
	echo "| 2 ranks x 1 thread, batch $b each, 25 MB buckets (overlap) | ${ips[25]} | ${bwd[25]} | ${wait[25]} |"
	echo "| 2 ranks x 1 thread, batch $b each, --bucket-mb 0 (no overlap) | ${ips[0]} | ${bwd[0]} | ${wait[0]} |"
	echo
	echo "backward: from the first bucket's gradients to the end of backward;"
	echo "wait: in MPI_Waitall before the optimiser step (rank 0's figures, from"
	echo "nntrain's closing note).  With --bucket-mb 0 the whole all-reduce is"
	echo "in the wait; with buckets, what is left of it after backward."
	echo
	echo "Overlap: the buckets hide $hidden % of the wait that the all-reduce costs"
	echo "after backward without them (1 - ${wait[25]} / ${wait[0]}).  On 2 shared"
	echo "cores the MPI progress (MPI_Testall between layers) and the reduction"
	echo "compete with backward for the same cores, so less can hide here than"
	echo "with a network or NVLink doing the transfer."
	echo
	echo "MPI all-reduce of InceptionV3's gradients (bench/bench_allreduce.c, 2"
	echo "ranks on this machine, shared memory):"
	echo
	echo "    $ar"
} > "$out"
cat "$out" >&2
