#!/usr/bin/env bash
# bench-paper.sh — the paper's full run (20 epochs), radpipe and PyTorch side
# by side in one run, as a ratio.  Writes bench/results/paper.md.
#   RADPIPE_DATA, RADPIPE_WEIGHTS   the tutorial's images and the Keras weights
#   EPOCHS=20 THREADS=2             how much, how wide
#   PRECISION=fp32|bf16             nntrain --precision, PyTorch autocast
#                                   (bf16: results in bench/results/paper-bf16.md)
# PyTorch comes from bench/venv (bench/setup-venv.sh); without it the torch
# column says so.
set -eu -o pipefail
cd "$(dirname "$0")/.."
: "${RADPIPE_DATA:?set RADPIPE_DATA to the folder Open_I_abd_vs_CXRs of the tutorial}"
epochs=${EPOCHS:-20}
threads=${THREADS:-2}
precision=${PRECISION:-fp32}
out=bench/results/paper.md
[ "$precision" = fp32 ] || out=bench/results/paper-$precision.md
weights=${RADPIPE_WEIGHTS:+$RADPIPE_WEIGHTS/inception_v3_imagenet_notop.h5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

t0=$(date +%s.%N)
bin/imgload -q --size 299 "$RADPIPE_DATA/VAL" > "$tmp/val.mpk"
bin/imgload -q --size 299 --epochs "$epochs" --shuffle --seed 1 "$RADPIPE_DATA/TRAIN" |
	bin/augment -q --seed 1 --rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip --interp nearest |
	bin/batch 5 |
	bin/nntrain -q --threads "$threads" --precision "$precision" ${weights:+--weights "$weights"} --val "$tmp/val.mpk" \
		--save "$tmp/model.mpk" > "$tmp/history.mpk"
t1=$(date +%s.%N)
rp=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
calc() { awk "BEGIN { print $1 }"; }

py=bench/venv/bin/python
if [ -x "$py" ] && "$py" -c 'import torch, torchvision' 2>/dev/null; then
	tj=$("$py" bench/paper_torch.py "$RADPIPE_DATA" --epochs "$epochs" --threads "$threads" \
		--precision "$precision")
	ts=$(echo "$tj" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
	tv=$(echo "$tj" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["torch"])')
else
	ts="" tv="not installed (bench/setup-venv.sh)"
fi
mkdir -p bench/results
{
	echo "# The paper's run: $epochs epochs, 65 images, batch 5, $threads threads, $precision"
	echo
	echo "Measured $(date -u +%Y-%m-%d) by \`PRECISION=$precision make bench-paper\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))."
	echo
	echo "| | wall time (s) | images/s | ratio to PyTorch |"
	echo "|---|---|---|---|"
	printf '| radpipe pipeline (imgload, augment, batch, nntrain) | %.1f | %.2f | %s |\n' "$rp" \
		"$(calc "$epochs * 65 / $rp")" "${ts:+$(printf '%.2f' "$(calc "$rp / $ts")")}"
	if [ -n "$ts" ]; then
		printf '| PyTorch %s (channels_last) | %.1f | %.2f | 1 |\n' "$tv" "$ts" "$(calc "$epochs * 65 / $ts")"
	else
		echo "| PyTorch | $tv | | |"
	fi
} > "$out"
cat "$out"
