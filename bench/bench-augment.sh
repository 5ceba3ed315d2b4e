#!/usr/bin/env bash
# bench-augment.sh — augment(1) images/s at 299x299x3 u8 with the paper's
# settings, one process, side by side with torchvision (RandomAffine(20,
# translate 0.2, shear 11.46 deg, scale 0.8-1.2) + RandomHorizontalFlip,
# torch.set_num_threads(1)) on the same images in the same run.
# Writes bench/results/augment.md.  Rates are per CPU second of the process
# (user + system), so a busy machine slows both sides alike; wall-clock
# rates are shown too.
#   N=300 REPEAT=3 bench/bench-augment.sh
# The torchvision side needs bench/venv (bench/setup-venv.sh); without it
# the report says so and only augment is measured.
set -eu
cd "$(dirname "$0")/.."
n=${N:-300}
repeat=${REPEAT:-3}
out=bench/results/augment.md
py=bench/venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
[ -x bin/augment ] || { echo "bench-augment: build bin/augment first (make bin/augment)" >&2; exit 1; }

/usr/bin/python3 tests/lib/mkframes.py samples --n "$n" --h 299 --w 299 --c 3 --seed 1 >"$tmp/in.mpk"
paper=(--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip)

# best of $repeat runs by CPU time (getrusage of the child, microseconds):
# prints "cpu_seconds wall_seconds"
time_augment() {
	/usr/bin/python3 - "$repeat" "$tmp/in.mpk" bin/augment --seed 1 "$@" <<'PY'
import resource, subprocess, sys, time
best = None
for _ in range(int(sys.argv[1])):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    with open(sys.argv[2], "rb") as f:
        subprocess.run(sys.argv[3:], stdin=f, stdout=subprocess.DEVNULL, check=True)
    w = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if best is None or c < best[0]:
        best = (c, w)
print("%.6f %.6f" % best)
PY
}
rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }

read -r ab_cpu ab_wall < <(time_augment "${paper[@]}" --interp bilinear)
read -r an_cpu an_wall < <(time_augment "${paper[@]}" --interp nearest)
aug_bil=$(rate "$ab_cpu"); aug_near=$(rate "$an_cpu")

tv_status="not measured: bench/venv missing (run bench/setup-venv.sh)"
tv=""
if [ -x "$py" ] && "$py" -c 'import torch, torchvision, msgpack' 2>/dev/null; then
	tv=$("$py" - "$tmp/in.mpk" "$repeat" <<'PY'
import sys, time
import msgpack, numpy as np, torch, torchvision
import torchvision.transforms as T
from PIL import Image
torch.set_num_threads(1)
frames = [f for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False, max_buffer_size=1 << 30)]
arrays = [np.frombuffer(f["x"]["data"], np.uint8).reshape(f["x"]["shape"]) for f in frames]
repeat = int(sys.argv[2])
torch.manual_seed(1)
for name, interp in (("bilinear", T.InterpolationMode.BILINEAR), ("nearest", T.InterpolationMode.NEAREST)):
    tf = T.Compose([T.RandomAffine(degrees=20, translate=(0.2, 0.2), shear=11.46, scale=(0.8, 1.2),
                                   interpolation=interp), T.RandomHorizontalFlip()])
    for kind in ("pil", "tensor"):
        xs = ([Image.fromarray(a) for a in arrays] if kind == "pil"
              else [torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous() for a in arrays])
        for x in xs[:5]:
            tf(x)
        best = None
        for _ in range(repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            for x in xs:
                tf(x)
            c, w = time.process_time() - c0, time.perf_counter() - w0
            if best is None or c < best[0]:
                best = (c, w)
        print(name, kind, len(xs) / best[0], len(xs) / best[1])
print("versions", torch.__version__, torchvision.__version__)
PY
) && tv_status=ok || tv_status="failed to run (see stderr)"
fi
tvr() { awk -v k="$1 $2" '$1 " " $2 == k { printf "%.0f", $3 }' <<<"$tv"; }
tvw() { awk -v k="$1 $2" '$1 " " $2 == k { printf "%.0f", $4 }' <<<"$tv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

{
	echo "# augment benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;"
	echo "$n images 299x299x3 u8, one process / one thread, best of $repeat."
	echo "augment: \`augment ${paper[*]} --interp MODE\` (whole filter: frame decode, warp, meta, encode)."
	echo "torchvision: RandomAffine(degrees=20, translate=(0.2, 0.2), shear=11.46, scale=(0.8, 1.2)) + RandomHorizontalFlip, transforms only."
	echo "img/s per CPU second (wall-clock img/s in brackets)."
	echo
	if [ "$tv_status" = ok ]; then
		echo "torch/torchvision: $(awk '$1 == "versions" { print $2 " / " $3 }' <<<"$tv")"
		echo
		echo "| interpolation | augment | torchvision PIL | torchvision tensor | augment / PIL | augment / tensor |"
		echo "|---|---|---|---|---|---|"
		for m in bilinear nearest; do
			a=$aug_bil; aw=$(rate "$ab_wall")
			[ $m = nearest ] && { a=$aug_near; aw=$(rate "$an_wall"); }
			echo "| $m | $a ($aw) | $(tvr $m pil) ($(tvw $m pil)) | $(tvr $m tensor) ($(tvw $m tensor)) | $(ratio "$a" "$(tvr $m pil)") | $(ratio "$a" "$(tvr $m tensor)") |"
		done
		echo
		echo "torchvision's RandomAffine default is nearest; augment's default is bilinear (Keras >= 2.1.4)."
		echo "augment's output equals scipy.ndimage.affine_transform bit for bit (both modes); the bilinear"
		echo "inner loop uses AVX2 doubles when the CPU has them (RADPIPE_NO_AVX2=1 forces the scalar loop)."
	else
		echo "torchvision: $tv_status"
		echo
		echo "| interpolation | augment img/s |"
		echo "|---|---|"
		echo "| bilinear | $aug_bil ($(rate "$ab_wall")) |"
		echo "| nearest | $aug_near ($(rate "$an_wall")) |"
	fi
} >"$out"
cat "$out"
