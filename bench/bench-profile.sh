#!/bin/bash
# bench-profile.sh -- where a training or inference step of InceptionV3
# goes, radpipe against PyTorch, from oneDNN's own timings.
#
# usage: bench/bench-profile.sh [-p fp32|bf16] [-t SECONDS] [-T THREADS] [MODE:BATCH]
#
# Runs build/bench/bench_inception and (when bench/venv has torch)
# bench/bench_inception_torch.py on the same configuration (default
# train:5, bf16, 1 thread, 8 s) with ONEDNN_VERBOSE=1, sums oneDNN's
# execution times per category and step, and prints a markdown table.
# One thread by default: the sums are then CPU time, and the time outside
# oneDNN (elementwise ops, BN statistics, the optimiser, framework
# overhead) is the step's CPU time minus them.  oneDNN 2.x and 3.x verbose
# lines are both read.  Verbose mode costs a little (a clock read and a
# line per primitive): compare the two columns, not the absolute figures
# with bench_inception's.
set -euo pipefail
prec=bf16 time=8 threads=1
while getopts p:t:T: o; do
	case $o in
	p) prec=$OPTARG ;;
	t) time=$OPTARG ;;
	T) threads=$OPTARG ;;
	*) echo "usage: $0 [-p fp32|bf16] [-t SECONDS] [-T THREADS] [MODE:BATCH]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
cfg=${1:-train:5}
batch=${cfg#*:}
py=bench/venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

make -s build/bench/bench_inception >&2
ONEDNN_VERBOSE=1 OMP_NUM_THREADS=$threads build/bench/bench_inception --only "$cfg" \
    --precision "$prec" --threads "$threads" --time "$time" -t "$out/r.tsv" \
    > "$out/r.log" 2> "$out/r.err"
# bench_inception's tsv: mode batch img/s rss_mb plan_mb cpu_s_per_step
rstep=$(awk -F'\t' '{ print $6 * 1000 }' "$out/r.tsv")
tstep=
if [ -x "$py" ] && "$py" -c 'import torch, torchvision' 2>/dev/null; then
	ONEDNN_VERBOSE=1 OMP_NUM_THREADS=$threads "$py" bench/bench_inception_torch.py \
	    --only "$cfg" --precision "$prec" --threads "$threads" --time "$time" \
	    -o "$out/t.tsv" > "$out/t.log" 2> "$out/t.err"
	# wall ms per step; at one thread that is its CPU time too
	tstep=$(awk -F'\t' -v b="$batch" '{ print 1000 * b / $3 }' "$out/t.tsv")
fi

# per category: ms per step (steps counted by the first convolution's
# forward executions: mb<batch>_ic3oc32_ih299)
cat > "$out/agg.awk" <<'EOF'
BEGIN { FS = "," }
$0 !~ /,exec,/ { next }
{
	# oneDNN 3.x: onednn_verbose,v1,primitive,exec,cpu,KIND,IMPL,PROP,MDS,...
	# oneDNN 2.x: onednn_verbose,exec,cpu,KIND,IMPL,PROP,MDS,...
	o = ($2 == "v1") ? 2 : 0
	if ($2 == "v1" && $3 != "primitive") next
	kind = $(4 + o); prop = $(6 + o); md = $(7 + o); t = $NF
	if (kind == "convolution") {
		cat = "conv forward"
		if (prop == "backward_data") cat = "conv bwd-data"
		if (prop == "backward_weights") cat = "conv bwd-weights"
		if ($0 ~ ("mb" batch "_ic3oc32_ih299") && cat == "conv forward") steps++
	} else if (kind == "reorder") {
		n = split(md, a, " ")
		w = 0
		for (i = 1; i <= n; i++) {
			nf = split(a[i], f, ":")
			tag = ""
			for (j = 1; j <= nf; j++) if (f[j] == "blocked") tag = f[j + 1]
			if (tag ~ /^[AB]/ || tag == "cdba") w = 1
		}
		cat = w ? "reorder weights" : "reorder activations"
	} else if (kind == "batch_normalization") cat = "batch norm (oneDNN)"
	else if (kind ~ /pooling/) cat = "pooling (oneDNN)"
	else cat = "other oneDNN (" kind ")"
	sum[cat] += t; total += t
}
END {
	if (steps == 0) steps = 1
	for (c in sum) printf "%s\t%.1f\n", c, sum[c] / steps
	printf "total oneDNN\t%.1f\n", total / steps
}
EOF
awk -v batch="$batch" -f "$out/agg.awk" "$out/r.log" > "$out/r.cat"
[ -z "$tstep" ] || awk -v batch="$batch" -f "$out/agg.awk" "$out/t.log" > "$out/t.cat"

ver=$(awk -F'[ ,]' '/onednn_verbose,info,oneDNN v/ { for (i = 1; i <= NF; i++) if ($i ~ /^v[0-9]/) { print $i; exit } }' "$out/r.log")
echo "# Where a step goes: InceptionV3 299x299 $cfg, $prec, $threads thread(s)"
echo
echo "\`bench/bench-profile.sh -p $prec -t $time -T $threads $cfg\`, $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)."
echo "ms per step from ONEDNN_VERBOSE execution times (radpipe's oneDNN ${ver:-?}; PyTorch's own)."
echo
echo "| category | radpipe ms/step | PyTorch ms/step |"
echo "|---|---:|---:|"
cats=$( (cut -f1 "$out/r.cat"; [ -z "$tstep" ] || cut -f1 "$out/t.cat") | grep -v '^total' | sort -u)
while IFS= read -r c; do
	r=$(awk -F'\t' -v c="$c" '$1 == c { print $2 }' "$out/r.cat")
	t=$([ -z "$tstep" ] || awk -F'\t' -v c="$c" '$1 == c { print $2 }' "$out/t.cat")
	echo "| $c | ${r:-0.0} | ${t:-${tstep:+0.0}} |"
done <<< "$cats"
rt=$(awk -F'\t' '$1 == "total oneDNN" { print $2 }' "$out/r.cat")
tt=$([ -z "$tstep" ] || awk -F'\t' '$1 == "total oneDNN" { print $2 }' "$out/t.cat")
echo "| **oneDNN total** | $rt | ${tt:--} |"
if [ "$threads" = 1 ]; then
	echo "| outside oneDNN (step CPU time - oneDNN) | $(awk -v a="$rstep" -v b="$rt" 'BEGIN { printf "%.1f", a - b }') | $([ -z "$tstep" ] && echo - || awk -v a="$tstep" -v b="$tt" 'BEGIN { printf "%.1f", a - b }') |"
fi
echo "| **step** (radpipe: CPU ms/step; PyTorch: wall ms/step) | $rstep | ${tstep:--} |"
