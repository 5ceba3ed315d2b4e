#!/usr/bin/env bash
# bench_precision.sh — InceptionV3 299x299 on the cpu backend in fp32 and
# bf16 with PyTorch 2 threads (fp32, and autocast bf16) beside each, run
# interleaved per configuration (radpipe fp32, radpipe bf16, torch fp32,
# torch bf16) so that all four see about the same machine load, ROUNDS
# times; prints one markdown table of the medians.
# usage: bench/bench_precision.sh [-r ROUNDS] [-t SECONDS] [CONFIG...]
#        CONFIG: infer:1 infer:5 infer:32 train:5 train:32 (the default)
# Every run's line stays in build/bench/precision/runs.tsv:
#   impl precision mode batch img/s rss_mb [plan_mb cpu_s_per_step]
set -eu -o pipefail
cd "$(dirname "$0")/.."
rounds=1 time=3
while getopts r:t: o; do
	case $o in r) rounds=$OPTARG ;; t) time=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
cfgs=("$@"); [ "${#cfgs[@]}" -gt 0 ] || cfgs=(infer:1 infer:5 infer:32 train:5 train:32)
out=build/bench/precision py=bench/venv/bin/python
mkdir -p "$out"; : > "$out/runs.tsv"
torch=0; "$py" -c 'import torch, torchvision' 2>/dev/null && torch=1
for ((r = 0; r < rounds; r++)); do
	for c in "${cfgs[@]}"; do
		for p in fp32 bf16; do
			build/bench/bench_inception --precision "$p" --only "$c" --time "$time" \
			    -t "$out/one.tsv" > /dev/null
			sed "s/^/radpipe\t$p\t/" "$out/one.tsv" >> "$out/runs.tsv"
		done
		[ "$torch" = 1 ] || continue
		for p in fp32 bf16; do
			"$py" bench/bench_inception_torch.py --only "$c" --time "$time" \
			    --precision "$p" -o "$out/one.tsv" > /dev/null
			sed "s/^/torch\t$p\t/" "$out/one.tsv" >> "$out/runs.tsv"
		done
	done
done
# medians per (impl, precision, mode, batch): img/s, RSS, CPU s/step
awk -F'\t' '
function med(s,   a, n, t, i, j) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $3 "\t" $4; if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
  v = $1 "\t" $2 "\t" k; ips[v] = ips[v] " " $5; rss[v] = rss[v] " " $6
  if ($8 != "") cpu[v] = cpu[v] " " $8; runs[v]++ }
END {
	print "| mode | batch | fp32 img/s | bf16 img/s | bf16/fp32 | fp32 CPU s/step | bf16 CPU s/step | bf16/fp32 (CPU) | torch fp32 img/s | torch bf16 img/s | bf16 vs torch bf16 | fp32 vs torch fp32 | RSS MB fp32 / bf16 | torch RSS MB fp32 / bf16 | runs |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, kb, "\t")
		f = med(ips["radpipe\tfp32\t" k]); b = med(ips["radpipe\tbf16\t" k])
		cf = med(cpu["radpipe\tfp32\t" k]); cb = med(cpu["radpipe\tbf16\t" k])
		tf = ips["torch\tfp32\t" k] != "" ? med(ips["torch\tfp32\t" k]) : 0
		tb = ips["torch\tbf16\t" k] != "" ? med(ips["torch\tbf16\t" k]) : 0
		printf "| %s | %s | %.2f | %.2f | %.2fx | %.3f | %.3f | %.2fx | ", kb[1], kb[2], f, b, b / f, cf, cb, cf / cb
		if (tf > 0) printf "%.2f | %.2f | %.2fx | %.2fx | ", tf, tb, b / tb, f / tf
		else printf "- | - | - | - | "
		printf "%.0f / %.0f | ", med(rss["radpipe\tfp32\t" k]), med(rss["radpipe\tbf16\t" k])
		if (tf > 0) printf "%.0f / %.0f | ", med(rss["torch\tfp32\t" k]), med(rss["torch\tbf16\t" k])
		else printf "- | "
		printf "%d |\n", runs["radpipe\tfp32\t" k]
	}
}' "$out/runs.tsv"
