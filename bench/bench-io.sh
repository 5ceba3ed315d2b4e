#!/usr/bin/env bash
# shellcheck disable=SC2016  # the single-quoted bash -c scripts take "$0" "$1" on purpose
# bench-io.sh — stream I/O throughput of radpipe (make bench-io).
#
#   bench/bench-io.sh [--quick] [--bench-png PATH] [-o FILE]
#
# 1. imgload on the shared images ($RADPIPE_DATA: TRAIN, VAL, TEST), one
#    process: images/s with --size 299 and with no resize.
# 2. imgload on synthetic 2048x2048 8-bit gray PNGs (made in a temp dir).
# 3. radpipe's png_decode next to a bare libpng loop on the same files
#    (bench_png decode): the ratio should stay within 1.10.
# 4. batch on a pipe next to cat: a stream of large frames of another kind
#    (passed through), and a stream of 299x299x3 samples (batched by 5).
# Every figure is the best of several runs.  Results go to FILE
# (default bench/results/io.md) and to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 out=bench/results/io.md bench_png=build/bench/bench_png
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--bench-png) bench_png=$2; shift ;;
	-o) out=$2; shift ;;
	*) echo "usage: bench-io.sh [--quick] [--bench-png PATH] [-o FILE]" >&2; exit 2 ;;
	esac
	shift
done
PY=python3
$PY -c 'import msgpack' 2>/dev/null || PY=/usr/bin/python3
runs=3 nsynth=20 blob_mb=8 nblob=64 reps=20
[ $quick = 1 ] && { runs=1 nsynth=4 nblob=8 reps=3; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best wall time in seconds of running "$@" $runs times (output discarded)
best() {
	local b="" t0 t1 t
	for _ in $(seq $runs); do
		t0=$EPOCHREALTIME
		"$@" > /dev/null
		t1=$EPOCHREALTIME
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
rate() { echo "scale=6; $1 / $2" | bc -l | xargs printf '%.1f'; }
gbps() { echo "scale=6; $1 / $2 / 1000000000" | bc -l | xargs printf '%.2f'; }

# pipe_vs_cat FILE N FRAMES UNIT WHAT: times `cat FILE | batch N` next to
# `cat FILE | cat` and prints the paragraph and table for them; FILE holds
# FRAMES frames, counted as UNIT/s; WHAT says what they are.
pipe_vs_cat() {
	local file=$1 n=$2 nf=$3 unit=$4 what=$5 bytes tc tb
	bytes=$(stat -c %s "$file")
	cat "$file" > /dev/null
	tc=$(best bash -c 'cat "$0" | cat' "$file")
	tb=$(best bash -c 'cat "$0" | "$1" "$2"' "$file" bin/batch "$n")
	echo "$what ($((bytes / 1048576)) MiB), \`cat FILE | batch $n\` next to \`cat FILE | cat\`:"
	echo
	echo "| pipe | seconds | $unit/s | GB/s |"
	echo "|---|---|---|---|"
	echo "| cat \\| cat | $(printf %.3f "$tc") | $(rate "$nf" "$tc") | $(gbps "$bytes" "$tc") |"
	echo "| cat \\| batch $n | $(printf %.3f "$tb") | $(rate "$nf" "$tb") | $(gbps "$bytes" "$tb") |"
	echo
}

{
echo "# stream I/O: imgload, png_decode, batch"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
echo "libpng $(pkg-config --modversion libpng), one process per program; best of $runs runs$([ $quick = 1 ] && echo ', --quick')."
echo

echo "## imgload on the shared images"
echo
if [ -n "${RADPIPE_DATA:-}" ] && [ -d "$RADPIPE_DATA/TRAIN" ]; then
	n=$(find "$RADPIPE_DATA/TRAIN" "$RADPIPE_DATA/VAL" "$RADPIPE_DATA/TEST" -name '*.png' | wc -l)
	mb=$(find "$RADPIPE_DATA" -name '*.png' -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1e6}')
	t299=$(best bin/imgload -q --size 299 "$RADPIPE_DATA/TRAIN" "$RADPIPE_DATA/VAL" "$RADPIPE_DATA/TEST")
	tkeep=$(best bin/imgload -q "$RADPIPE_DATA/TRAIN" "$RADPIPE_DATA/VAL" "$RADPIPE_DATA/TEST")
	echo "$n PNG files, $mb MB."
	echo
	echo "| run | seconds | images/s |"
	echo "|---|---|---|"
	echo "| imgload --size 299 (decode, sha256, nearest resize, frames) | $(printf %.3f "$t299") | $(rate "$n" "$t299") |"
	echo "| imgload (no resize) | $(printf %.3f "$tkeep") | $(rate "$n" "$tkeep") |"
	echo
	echo "Decoding alone, bare libpng next to png_decode:"
	echo
	echo '```'
	find "$RADPIPE_DATA" -name '*.png' -print0 | sort -z | xargs -0 "$bench_png" decode -r $((runs * 3))
	echo '```'
else
	echo "RADPIPE_DATA is not set: skipped."
fi
echo

echo "## imgload on synthetic 2048x2048 gray PNGs"
echo
"$bench_png" gen "$tmp/synth" $nsynth 2048
mb=$(du -sm "$tmp/synth" | cut -f1)
t1=$(best bin/imgload -q --channels 1 "$tmp/synth")
t3=$(best bin/imgload -q --size 299 "$tmp/synth")
echo "$nsynth files of 2048x2048 8-bit gray, $mb MB on disk (4.2 MB of pixels each)."
echo
echo "| run | seconds | images/s | MB/s of pixels |"
echo "|---|---|---|---|"
echo "| imgload --channels 1 (no resize: 4.2 MB frames) | $(printf %.3f "$t1") | $(rate $nsynth "$t1") | $(rate $((nsynth * 4194304 / 1000000)) "$t1") |"
echo "| imgload --size 299 (gray replicated to 3 channels) | $(printf %.3f "$t3") | $(rate $nsynth "$t3") | $(rate $((nsynth * 4194304 / 1000000)) "$t3") |"
echo
echo '```'
"$bench_png" decode -r $((runs * 2)) "$tmp"/synth/*.png
echo '```'
echo
echo "ratio = radpipe / bare libpng time (target: at most 1.10)."
echo

echo "## batch on a pipe"
echo
$PY - "$tmp/blobs.mpk" $nblob $blob_mb <<'PYEOF'
import sys, msgpack
path, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = bytes(range(256)) * (mb * 4096)
with open(path, "wb") as f:
    for i in range(n):
        f.write(msgpack.packb({"kind": "blob", "i": i,
                               "x": {"dtype": "u8", "shape": [len(data)], "data": data}},
                              use_bin_type=True))
PYEOF
pipe_vs_cat "$tmp/blobs.mpk" 1 $nblob frames \
	"Pass-through: $nblob frames of kind \"blob\" with an ${blob_mb} MiB tensor each"
if [ -n "${RADPIPE_DATA:-}" ] && [ -d "$RADPIPE_DATA/TRAIN" ]; then
	bin/imgload -q --size 299 "$RADPIPE_DATA/TRAIN" > "$tmp/one.mpk"
	for _ in $(seq $reps); do cat "$tmp/one.mpk"; done > "$tmp/samples.mpk"
	pipe_vs_cat "$tmp/samples.mpk" 5 $((65 * reps)) "sample frames" \
		"Batching: $((65 * reps)) sample frames of u8[299,299,3]"
	echo "For scale: training InceptionV3 consumes a few hundred 299x299 images/s"
	echo "at most on one GPU, i.e. well under 0.2 GB/s of u8 samples."
fi
} | tee "$out.tmp"
mv "$out.tmp" "$out"
