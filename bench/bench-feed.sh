#!/usr/bin/env bash
# bench-feed.sh — how many CPU cores keep a GPU fed (issue 19): img/s of
#   imgload -q --size 299 --epochs E --cache-mb 512 -j N DATA/TRAIN
#    | augment -j N --seed 1 --rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip
#    | batch 32 > /dev/null
# for each N of JOBS, with each stage's CPU time (bash's time), plus the
# cost of decoding (imgload --cache-mb 0 alone).  Runs of the N values are
# interleaved REPEAT times and medians reported, so that a busy machine
# slows every N alike; the CPU seconds per image do not depend on the
# load, and the cores a GPU needs follow from them.
#   bench/bench-feed.sh [-o OUT.md]       (make bench-feed)
#   JOBS="1 2" EPOCHS=30 REPEAT=5 DATA=dir  (DATA: a folder of class folders;
#   default $RADPIPE_DATA/TRAIN, else 65 synthetic 512x512 PNGs)
set -eu -o pipefail
cd "$(dirname "$0")/.."
out=bench/results/feed.md
[ "${1:-}" = -o ] && out=$2
jobs_list=${JOBS:-1 2}
epochs=${EPOCHS:-30}
repeat=${REPEAT:-5}
bin=${BIN:-bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in imgload augment batch; do
	[ -x "$bin/$p" ] || { echo "bench-feed: build $bin/$p first (make)" >&2; exit 1; }
done

data=${DATA:-}
what=
if [ -z "$data" ] && [ -d "${RADPIPE_DATA:-/nonexistent}/TRAIN" ]; then
	data=$RADPIPE_DATA/TRAIN
	what="the tutorial's TRAIN set"
fi
if [ -z "$data" ]; then
	data=$tmp/set
	mkdir -p "$data/a" "$data/b"
	python3 tests/lib/mkset.py "$data" 65 --size 512
	what="65 synthetic 512x512 gray PNGs (tests/lib/mkset.py; no RADPIPE_DATA)"
fi
what=${what:-$data}
nimg=$(find "$data" -type f | wc -l)
total=$((nimg * epochs))
paper=(--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip)

# timed FILE CMD...: runs CMD, its user and system seconds into FILE
timed() {
	local f=$1
	shift
	{ TIMEFORMAT='%U %S'; time "$@" 2>&3; } 3>&2 2>"$f"
}
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }

# run N: one pipeline; prints "wall imgload_cpu augment_cpu batch_cpu"
run() {
	local n=$1 t0 t1
	t0=$(now)
	timed "$tmp/t.imgload" "$bin/imgload" -q --size 299 --epochs "$epochs" --cache-mb 512 -j "$n" "$data" |
		timed "$tmp/t.augment" "$bin/augment" -q -j "$n" --seed 1 "${paper[@]}" |
		timed "$tmp/t.batch" "$bin/batch" 32 > /dev/null
	t1=$(now)
	printf '%s' "$(sub "$t1" "$t0")"
	for s in imgload augment batch; do
		printf ' %s' "$(awk '{ print $1 + $2 }' "$tmp/t.$s")"
	done
	echo
}

# decode N: imgload alone, no cache, one epoch; prints "wall cpu"
decode() {
	local t0 t1
	t0=$(now)
	timed "$tmp/t.dec" "$bin/imgload" -q --size 299 --cache-mb 0 -j "$1" "$data" > /dev/null
	t1=$(now)
	echo "$(sub "$t1" "$t0") $(awk '{ print $1 + $2 }' "$tmp/t.dec")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for n in $jobs_list; do run "$n" > /dev/null; done       # warm the page cache
for _ in $(seq "$repeat"); do
	for n in $jobs_list; do
		run "$n" >> "$tmp/pipe.$n"
		decode "$n" >> "$tmp/dec.$n"
	done
done

cpus=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
	echo "# Feeding a GPU: imgload | augment | batch 32, CPU cost per image"
	echo
	echo "\`make bench-feed\` (bench/bench-feed.sh), $(date -u +%Y-%m-%d), $cpus CPUs ($model),"
	echo "load average before the report $load.  Data: $what, $nimg images x $epochs epochs"
	echo "= $total images per run, resized to 299x299x3 u8 and cached after the first epoch"
	echo "(\`--cache-mb 512\`), augmented with the paper's options, batched by 32 into"
	echo "/dev/null.  Medians of $repeat interleaved runs per N (both imgload and augment"
	echo "get \`--jobs N\`).  CPU is user + system time of each stage (bash's time);"
	echo "it does not depend on the machine's load, wall time does."
	echo
	echo "| --jobs N | img/s (wall) | vs N=1 | imgload CPU ms/img | augment CPU ms/img | batch CPU ms/img | total CPU ms/img | decode uncached: img/s (wall) | decode CPU ms/img |"
	echo "|---|---|---|---|---|---|---|---|---|"
	base=
	for n in $jobs_list; do
		w=$(cut -d' ' -f1 "$tmp/pipe.$n" | median)
		ci=$(cut -d' ' -f2 "$tmp/pipe.$n" | median)
		ca=$(cut -d' ' -f3 "$tmp/pipe.$n" | median)
		cb=$(cut -d' ' -f4 "$tmp/pipe.$n" | median)
		dw=$(cut -d' ' -f1 "$tmp/dec.$n" | median)
		dc=$(cut -d' ' -f2 "$tmp/dec.$n" | median)
		rate=$(awk -v t="$total" -v w="$w" 'BEGIN { printf "%.6f", t / w }')
		[ -n "$base" ] || base=$rate
		awk -v n="$n" -v r="$rate" -v b="$base" -v t="$total" -v ci="$ci" -v ca="$ca" -v cb="$cb" \
		    -v m="$nimg" -v dw="$dw" -v dc="$dc" 'BEGIN {
			printf "| %s | %.0f | %.2fx | %.3f | %.3f | %.3f | %.3f | %.0f | %.2f |\n",
			    n, r, r / b, 1000 * ci / t, 1000 * ca / t, 1000 * cb / t,
			    1000 * (ci + ca + cb) / t, m / dw, 1000 * dc / m }'
		[ -n "${cpu1:-}" ] || cpu1=$(awk -v t="$total" -v a="$ci" -v b="$ca" -v c="$cb" 'BEGIN { printf "%.9f", (a + b + c) / t }')
	done
	echo
	echo "Cores a GPU needs for this pipeline = GPU img/s x total CPU s/img (N = first row,"
	echo "$(awk -v c="$cpu1" 'BEGIN { printf "%.3f", 1000 * c }') ms/img), the nntrain process's own input handling not counted."
	echo "The GPU rates are assumptions (the issue's \"hundreds to thousands\" of"
	echo "InceptionV3 images/s), not measurements:"
	echo
	echo "| GPU img/s (assumed) | cores for imgload (cached) + augment + batch |"
	echo "|---|---|"
	for g in 1000 3000; do
		awk -v g="$g" -v c="$cpu1" 'BEGIN { printf "| %d | %.1f |\n", g, g * c }'
	done
} > "$out"
cat "$out"
