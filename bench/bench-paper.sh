#!/usr/bin/env bash
# bench-paper.sh — the paper's full run (20 epochs), radpipe and PyTorch side
# by side in one run, as a ratio.  Writes bench/results/paper.md.
#   RADPIPE_DATA, RADPIPE_WEIGHTS   the tutorial's images and the Keras weights
#   EPOCHS=20 THREADS=2             how much, how wide
#   PRECISION=fp32|bf16             nntrain --precision, PyTorch autocast
#                                   (bf16: results in bench/results/paper-bf16.md)
#   RESULT=FILE                     write the results there instead
#   BIN=DIR                         the radpipe programs (bin), e.g. an older
#                                   build for a before/after comparison
#   TORCH=0                         radpipe alone
# Both sides are timed the same way, end to end: radpipe from the first
# imgload to nntrain's exit (model saved), PyTorch from the start of its
# main (loading the images, building the model, training, validation every
# epoch, the model saved); the whole python process (import torch too,
# which depends on the page cache: minutes when cold) is reported beside.  nntrain --timing's per-phase
# breakdown goes into the results.  PyTorch comes from bench/venv
# (bench/setup-venv.sh); without it the torch column says so.
set -eu -o pipefail
cd "$(dirname "$0")/.."
: "${RADPIPE_DATA:?set RADPIPE_DATA to the folder Open_I_abd_vs_CXRs of the tutorial}"
epochs=${EPOCHS:-20}
threads=${THREADS:-2}
precision=${PRECISION:-fp32}
out=bench/results/paper.md
[ "$precision" = fp32 ] || out=bench/results/paper-$precision.md
out=${RESULT:-$out}
bin=${BIN:-bin}
weights=${RADPIPE_WEIGHTS:+$RADPIPE_WEIGHTS/inception_v3_imagenet_notop.h5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

t0=$(date +%s.%N)
timing=--timing
"$bin/nntrain" --help 2>&1 | grep -q -e --timing || timing=	# (an older build)
"$bin/imgload" -q --size 299 "$RADPIPE_DATA/VAL" > "$tmp/val.mpk"
"$bin/imgload" -q --size 299 --epochs "$epochs" --shuffle --seed 1 "$RADPIPE_DATA/TRAIN" |
	"$bin/augment" -q --seed 1 --rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip --interp nearest |
	"$bin/batch" 5 |
	"$bin/nntrain" -q $timing --threads "$threads" --precision "$precision" ${weights:+--weights "$weights"} \
		--val "$tmp/val.mpk" --save "$tmp/model.mpk" > "$tmp/history.mpk" 2> "$tmp/timing" ||
	{ cat "$tmp/timing" >&2; exit 1; }
t1=$(date +%s.%N)
rp=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
calc() { awk "BEGIN { print $1 }"; }

py=bench/venv/bin/python
if [ "${TORCH:-1}" = 0 ]; then
	ts="" tv="not run (TORCH=0)"
elif [ -x "$py" ] && "$py" -c 'import torch, torchvision' 2>/dev/null; then
	t2=$(date +%s.%N)
	tj=$("$py" bench/paper_torch.py "$RADPIPE_DATA" --epochs "$epochs" --threads "$threads" \
		--precision "$precision" --save "$tmp/model.pt")
	t3=$(date +%s.%N)
	tp=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
	ts=$(echo "$tj" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
	tl=$(echo "$tj" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["train_seconds"])')
	tv=$(echo "$tj" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["torch"])')
else
	ts="" tv="not installed (bench/setup-venv.sh)"
fi
mkdir -p bench/results
{
	echo "# The paper's run: $epochs epochs, 65 images, batch 5, $threads threads, $precision"
	echo
	echo "Measured $(date -u +%Y-%m-%d) by \`PRECISION=$precision make bench-paper\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Both sides end to end: radpipe from the first imgload to nntrain's exit (model saved), PyTorch from the start of its main (images, model, training with validation every epoch, model saved)."
	echo
	echo "| | wall time (s) | images/s | ratio to PyTorch |"
	echo "|---|---|---|---|"
	printf '| radpipe pipeline (imgload, augment, batch, nntrain) | %.1f | %.2f | %s |\n' "$rp" \
		"$(calc "$epochs * 65 / $rp")" "${ts:+$(printf '%.2f' "$(calc "$rp / $ts")")}"
	if [ -n "$ts" ]; then
		printf '| PyTorch %s (channels_last) | %.1f | %.2f | 1 |\n' "$tv" "$ts" "$(calc "$epochs * 65 / $ts")"
		echo
		printf 'PyTorch'"'"'s training loop alone (with validation): %.1f s; its whole process (import torch too): %.1f s.\n' "$tl" "$tp"
	else
		echo "| PyTorch | $tv | | |"
	fi
	if [ -s "$tmp/timing" ]; then
		echo
		echo "Where radpipe's time went (nntrain --timing; CPU s counts every thread of nntrain):"
		echo
		echo '```'
		sed 's/^nntrain: timing: //' "$tmp/timing"
		echo '```'
	fi
} > "$out"
cat "$out"
