#!/usr/bin/env bats
# plot as a user runs it: valid PNG/SVG/PDF files of the asked size, the
# dumb terminal, montages, bad input.  Needs gnuplot (Debian gnuplot-nox).

bats_require_minimum_version 1.5.0

setup() {
	BIN="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}"
	PLOT="$BIN/plot"
	MK="/usr/bin/python3 $BATS_TEST_DIRNAME/../lib/mkframes.py"
	T="$BATS_TEST_TMPDIR"
	command -v gnuplot >/dev/null || skip "gnuplot is not installed (Debian: gnuplot-nox)"
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/history.mpk"
import json, math
for e in range(1, 11):
    print(json.dumps({"kind": "metrics", "epoch": e, "epochs": 10,
                      "loss": 0.7 * math.exp(-e / 3), "acc": 1 - 0.5 * math.exp(-e / 3),
                      "val_loss": 0.6 * math.exp(-e / 4) + 0.05,
                      "val_acc": 1 - 0.45 * math.exp(-e / 4), "lr": 1e-4}))
PY
	printf '%s\n' '{"kind":"roc","auc":0.875,"auc_ci":[0.59,1.0],"threshold":0.5,"operating_point":[0.25,0.5],"fpr":[0,0,0,0.25,0.25,0.25,0.5,0.75,1],"tpr":[0,0.25,0.5,0.5,0.75,1,1,1,1]}' |
		$MK pack >"$T/roc.mpk"
}

teardown() {
	if mountpoint -q "$T/mnt" 2>/dev/null; then umount "$T/mnt"; fi
}

# png_size FILE: "W H" from the IHDR chunk, or fails if FILE is not a PNG
png_size() {
	/usr/bin/python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
print(*struct.unpack(">II", b[16:24]))' "$1"
}

@test "plot --history: a PNG of the asked size with both panels" {
	"$PLOT" --history -o "$T/curves.png" --size 400x900 --title 'Training' "$T/history.mpk"
	[ "$(png_size "$T/curves.png")" = "900 400" ]
	[ ! -e "$T/curves.png.gp" ]
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "plot --history: SVG and PDF, format from the extension or --format" {
	"$PLOT" --history -o "$T/c.svg" --size 300x640 <"$T/history.mpk"
	grep -q '<svg' "$T/c.svg"
	grep -q 'width="640" height="300"' "$T/c.svg"
	"$PLOT" --history -o "$T/c.pdf" --size 360x720 <"$T/history.mpk"
	head -c 5 "$T/c.pdf" | grep -q '%PDF-'
	grep -aq 'MediaBox \[ 0 0 720 360 \]' "$T/c.pdf"
	"$PLOT" --history --format svg -o "$T/c.img" <"$T/history.mpk"
	grep -q '<svg' "$T/c.img"
}

@test "plot --history --format dumb: the curves as text on stdout" {
	run --separate-stderr "$PLOT" --history --format dumb --size 30x100 "$T/history.mpk"
	[ "$status" -eq 0 ]
	[[ "$output" == *"training"* && "$output" == *"validation"* ]]
	[[ "$output" == *"accuracy"* && "$output" == *"loss"* && "$output" == *"epoch"* ]]
	[ "$(printf '%s\n' "$output" | grep -c '\*')" -gt 5 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -ge 29 ]
}

@test "plot --roc: PNG with the AUC and its interval in the legend (--keep-script)" {
	"$PLOT" --roc -o "$T/roc.png" --keep-script <"$T/roc.mpk"
	[ "$(png_size "$T/roc.png")" = "700 700" ]
	grep -q "AUC 0.875 (95% CI 0.590-1.000)" "$T/roc.png.gp"
	grep -q '^0.25 0.75$' "$T/roc.png.dat"
	# the kept script redraws the figure
	rm "$T/roc.png"
	(cd "$T" && gnuplot roc.png.gp)
	[ "$(png_size "$T/roc.png")" = "700 700" ]
}

@test "plot without -o: the dumb terminal on stdout" {
	run --separate-stderr "$PLOT" --history "$T/history.mpk"
	[ "$status" -eq 0 ]
	[[ "$output" == *"validation"* ]]
}

@test "plot --roc: the curve from metrics --roc, in the dumb terminal" {
	run --separate-stderr "$PLOT" --roc -o - --format dumb --size 30x70 "$T/roc.mpk"
	[ "$status" -eq 0 ]
	[[ "$output" == *"AUC 0.875"* ]]
	[[ "$output" == *"chance"* ]]
}

@test "plot --follow: draws while frames arrive and at the end" {
	(head -c 100000 "$T/history.mpk"; sleep 1.2) | "$PLOT" --history --follow -o "$T/f.png"
	[ "$(png_size "$T/f.png")" = "1200 500" ]
}

@test "plot --montage N: a PNG contact sheet of the first N images of samples or batches" {
	$MK samples --n 12 --h 64 --w 80 --c 1 --pattern gradient >"$T/s.mpk"
	"$PLOT" --montage 9 --tile 100 -o "$T/m.png" <"$T/s.mpk"
	[ "$(png_size "$T/m.png")" = "318 318" ]
	$MK batch --n 5 --h 32 --w 32 --c 3 --dtype u16 >"$T/b.mpk"
	"$PLOT" --montage 4 --tile 50 --cols 4 -o "$T/b.png" "$T/b.mpk"
	[ "$(png_size "$T/b.png")" = "224 56" ]
	"$PLOT" --montage 20 --tile 50 -o - <"$T/s.mpk" >"$T/stdout.png"
	[ "$(png_size "$T/stdout.png")" = "280 168" ]
}

@test "plot --images: predictions joined by id with a samples file or in one stream" {
	$MK samples --n 4 --h 64 --w 64 --c 1 --pattern gradient >"$T/s.mpk"
	printf '%s\n' '{"kind":"prediction","id":"cls/002.png","label":0,"class":"chest","score":0.1,"pred":0,"pred_class":"chest"}' \
		'{"kind":"prediction","id":"cls/001.png","label":1,"class":"abdomen","score":0.3,"pred":0,"pred_class":"chest"}' |
		$MK pack >"$T/p.mpk"
	"$PLOT" --images "$T/s.mpk" -o "$T/i.png" --keep-script --tile 100 <"$T/p.mpk"
	[ "$(png_size "$T/i.png")" = "224 166" ]
	grep -q "'chest (0.700)'" "$T/i.png.gp"
	cat "$T/s.mpk" "$T/p.mpk" | "$PLOT" --images - -o "$T/j.svg" --tile 100
	grep -q '<svg' "$T/j.svg"
	printf '%s\n' '{"kind":"prediction","id":"nosuch","score":0.1}' | $MK pack >"$T/q.mpk"
	run -1 --separate-stderr "$PLOT" --images "$T/s.mpk" -o "$T/k.png" <"$T/q.mpk"
	[[ "$stderr" == *"join by id"* ]]
	[ ! -e "$T/k.png" ]
}

@test "plot: gnuplot missing -> a clear error naming gnuplot-nox, no file" {
	mkdir "$T/empty"
	run -1 --separate-stderr env PATH="$T/empty" "$PLOT" --history -o "$T/x.png" "$T/history.mpk"
	[[ "$stderr" == *"gnuplot not found"*"gnuplot-nox"* ]]
	[ ! -e "$T/x.png" ]
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "plot: gnuplot failing leaves no file and no temporary file" {
	mkdir "$T/fake"
	printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' >"$T/fake/gnuplot"
	chmod +x "$T/fake/gnuplot"
	echo old >"$T/keep.png"
	run -1 --separate-stderr env PATH="$T/fake:$PATH" "$PLOT" --roc -o "$T/keep.png" "$T/roc.mpk"
	[[ "$stderr" == *"gnuplot failed (exit status 3)"* ]]
	[ "$(cat "$T/keep.png")" = old ]
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "plot: bad input and bad usage fail with empty stdout and no file" {
	run -1 --separate-stderr "$PLOT" --history -o "$T/a.png" </dev/null
	[ -z "$output" ]
	[[ "$stderr" == *"no metrics frames"* ]]
	run -1 --separate-stderr "$PLOT" --roc -o "$T/a.png" "$T/history.mpk"
	[[ "$stderr" == *"no roc frames"* ]]
	run -1 --separate-stderr "$PLOT" --montage 4 -o "$T/a.png" "$T/history.mpk"
	[[ "$stderr" == *"no sample or batch frames"* ]]
	[ ! -e "$T/a.png" ]
	run -2 --separate-stderr "$PLOT" -o "$T/a.png" "$T/history.mpk"
	[ -z "$output" ]
	run -2 "$PLOT" --history --nosuch -o "$T/a.png" "$T/history.mpk"
	run -2 "$PLOT" --history --roc -o "$T/a.png"
	run -2 "$PLOT" --history --format png "$T/history.mpk"
	run -2 "$PLOT" --roc -o - --format png "$T/roc.mpk"
	run -2 "$PLOT" --history --size 12x -o "$T/a.png" "$T/history.mpk"
	run -2 "$PLOT" --history --size 4x100 -o "$T/a.png" "$T/history.mpk"
	run -2 "$PLOT" --history --format gif -o "$T/a.png" "$T/history.mpk"
	run -2 "$PLOT" --montage 0 -o "$T/a.png"
	run -2 "$PLOT" --images x --format dumb
	printf 'garbage' >"$T/bad.mpk"
	run -1 --separate-stderr "$PLOT" --history -o "$T/a.png" "$T/bad.mpk"
	[ -z "$output" ]
	[ ! -e "$T/a.png" ]
}

@test "plot: the EXAMPLES of plot(1) run" {
	cd "$T"
	cp history.mpk out-history.mpk
	$MK samples --n 6 --h 40 --w 40 --c 1 --pattern gradient >samples.mpk
	printf '%s\n' '{"kind":"prediction","id":"cls/000.png","score":0.2,"pred":0}' | $MK pack >predictions.mpk
	/usr/bin/python3 - <<'PY'
import msgpack, struct
cam = {"dtype": "f32", "shape": [2, 2], "data": struct.pack("<4f", 0, 1, 2, 0.5)}
with open("cam.mpk", "wb") as f:
    f.write(msgpack.packb({"kind": "prediction", "id": "cls/000.png", "score": 0.2, "pred": 0,
                           "cam": cam, "cam_layer": "conv", "cam_class": 0}))
PY
	/usr/bin/python3 - <<'PY' | $MK pack >test-predictions.mpk
import json
for i, (s, y) in enumerate(zip([0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1], [1, 1, 1, 1, 0, 0, 0, 0])):
    print(json.dumps({"kind": "prediction", "id": "t%d" % i, "label": y, "score": s}))
PY
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../lib/mlref.py" gen --n 60 --k 4 --seed 1 >ml-val.mpk
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../lib/mlref.py" gen --n 80 --k 4 --seed 2 >ml-test.mpk
	n=0
	while IFS= read -r line; do
		PATH="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}:$PATH" bash -o pipefail -c "$line" >/dev/null
		n=$((n + 1))
	done < <(sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$BATS_TEST_DIRNAME/../../man/man1/plot.1" |
		sed -n 's/^\.Dl //p' | grep -v -e imgload -e nninfer -e nntrain -e augment | sed 's/\\-/-/g; s/\\e/\\/g')
	[ "$n" -ge 5 ]
}

@test "plot: an output that cannot be written is an error, never exit 0 (issue 14.9)" {
	# gnuplot's exit status does not report write errors: plot checks the file
	run -1 --separate-stderr sh -c '"$0" --history -f dumb -o - "$1" >/dev/full' \
		"$PLOT" "$T/history.mpk"
	[[ "$stderr" == *"plot: stdout: write error: No space left on device"* ]]
	run -1 sh -c '"$0" --roc -o - -f dumb "$1" >/dev/full' "$PLOT" "$T/roc.mpk"
	mkdir "$T/mnt"
	mount -t tmpfs -o size=64k tmpfs "$T/mnt" 2>/dev/null ||
		skip "cannot mount a small tmpfs (needs root)"
	head -c 56000 /dev/zero >"$T/mnt/fill"
	echo old >"$T/mnt/keep.png"
	for f in keep.png c.svg c.pdf; do
		run -1 --separate-stderr "$PLOT" --history -o "$T/mnt/$f" "$T/history.mpk"
		[[ "$stderr" == *"plot: $T/mnt/$f: gnuplot's "*" output is "*"(full file system?)"* ]]
	done
	[ "$(cat "$T/mnt/keep.png")" = old ]
	[ ! -e "$T/mnt/c.svg" ] && [ ! -e "$T/mnt/c.pdf" ]
	[ -z "$(ls "$T/mnt" | grep tmp)" ]
}

@test "plot -q: gnuplot's warnings are not shown, its errors are (issue 14.14)" {
	printf '%s\n' '{"kind":"metrics","epoch":1,"epochs":1,"loss":0.5,"acc":0.5}' |
		$MK pack >"$T/h1.mpk"
	run -0 --separate-stderr "$PLOT" --history -o "$T/h1.png" "$T/h1.mpk"
	[[ "$stderr" == *"arning"* ]]           # gnuplot: empty y range
	run -0 --separate-stderr "$PLOT" -q --history -o "$T/h1.png" "$T/h1.mpk"
	[ -z "$stderr" ]
	[ "$(png_size "$T/h1.png")" = "1200 500" ]
	mkdir "$T/fake"
	printf '#!/bin/sh\ncat >/dev/null\necho "gnuplot: broken" >&2\nexit 3\n' >"$T/fake/gnuplot"
	chmod +x "$T/fake/gnuplot"
	run -1 --separate-stderr env PATH="$T/fake:$PATH" "$PLOT" -q --roc -o "$T/r.png" "$T/roc.mpk"
	[[ "$stderr" == *"gnuplot: broken"*"gnuplot failed (exit status 3)"* ]]
}

# issue 15.4: every caption stays within its tile: the columns between the
# tiles (and the canvas margins) are white in the caption band, at 1, 2,
# 10 and 50 images, with the demo's long class and file names
@test "plot --images: captions fit their tiles at 1, 2, 10 and 50 images" {
	$MK samples --n 50 --h 64 --w 64 --c 1 --pattern gradient --prefix openI_abd_xray >"$T/s.mpk"
	# long file names as in the data set (PMC3913410_ukmss-55553-f10.png)
	/usr/bin/python3 - "$T/s.mpk" "$T/s2.mpk" <<'PY' | $MK pack >"$T/p.jsonl.mpk"
import json, msgpack, sys
out = open(sys.argv[2], "wb")
for i, f in enumerate(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False)):
    if f["kind"] != "sample": continue
    f["id"] = "openI_abd_xray/PMC3913410_ukmss-55553-f%02d.png" % i
    out.write(msgpack.packb(f, use_bin_type=True))
    y, s = i % 2, (i * 0.37) % 1
    print(json.dumps({"kind": "prediction", "id": f["id"], "label": y,
        "class": ["openI_CXR", "openI_abd_xray"][y], "score": s, "pred": int(s >= 0.5),
        "pred_class": ["openI_CXR", "openI_abd_xray"][int(s >= 0.5)]}))
PY
	for n in 1 2 10 50; do
		for tile in 200 120; do
			"$PLOT" -q --images "$T/s2.mpk" --max "$n" --tile "$tile" -t "n=$n" -o "$T/g.png" "$T/p.jsonl.mpk"
			"$BIN/imgload" -q "$T/g.png" >"$T/g.mpk"
			/usr/bin/python3 - "$T/g.mpk" "$n" "$tile" <<'PY'
import math, msgpack, sys
import numpy as np
f = next(f for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False) if f["kind"] == "sample")
img = np.frombuffer(f["x"]["data"], np.uint8).reshape(f["x"]["shape"])
n, tw = int(sys.argv[2]), int(sys.argv[3])
pad, cap, top = 6, 54, 30                 # plot.c: PAD, CAPTION_H, title band
cols = math.ceil(math.sqrt(n))
rows = (n + cols - 1) // cols
assert img.shape[1] == cols * (tw + 2 * pad), img.shape
dark = img.min(axis=2) < 200
for r in range(rows):
    y0 = top + r * (tw + 2 * pad + cap) + pad + tw + 2
    band = dark[y0:y0 + cap]
    for c in range(cols):
        x0 = c * (tw + 2 * pad) + pad
        if r * cols + c < n:
            assert band[:, x0:x0 + tw].sum() > 50, ("no caption", r, c)
        # the columns outside tile c's image area, up to the next tile's
        outside = band[:, x0 + tw:x0 + tw + 2 * pad]
        assert not outside.any(), ("caption of tile", r * cols + c, "runs past its tile", n, tw)
    assert not band[:, :pad].any(), ("caption past the left edge", n, tw)
PY
		done
	done
}

# issue 18.4: the reliability diagram of metrics' calibration frames
calibration_frames() {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/pred.mpk"
import json, random
random.seed(3)
for i in range(300):
    p = random.betavariate(0.7, 0.7)
    print(json.dumps({"kind": "prediction", "id": "r%d" % i, "label": int(random.random() < p ** 1.5),
                      "score": p}))
PY
	"$BIN/metrics" --format frames "$T/pred.mpk" >"$T/cal.mpk"
}

@test "plot --reliability: PNG and dumb text of the reliability diagram, either binning (issue 18.4)" {
	calibration_frames
	"$PLOT" --reliability -t VAL -o "$T/rel.png" --keep-script "$T/cal.mpk"
	[ "$(png_size "$T/rel.png")" = "700 700" ]
	[ "$(stat -c %s "$T/rel.png")" -gt 10000 ]
	grep -q "equal width: ECE 0.1" "$T/rel.png.gp"
	grep -q "yerrorbars" "$T/rel.png.gp"
	grep -q "with boxes" "$T/rel.png.gp"
	# 10 equal-width bins: 10 points with their Wilson bars, 10 boxes
	[ "$(awk 'NF == 4 && $1 != "NaN"' "$T/rel.png.dat" | wc -l)" -eq 10 ]
	[ "$(awk 'NF == 3' "$T/rel.png.dat" | wc -l)" -eq 10 ]
	"$PLOT" --reliability --binning mass --size 500x600 -o "$T/mass.svg" "$T/cal.mpk"
	grep -q "equal mass: ECE" "$T/mass.svg"
	grep -q '</svg>' "$T/mass.svg"
	run -0 --separate-stderr "$PLOT" --reliability "$T/cal.mpk"
	[[ "$output" == *"perfectly calibrated"* ]]
	[[ "$output" == *"equal width: ECE 0.1"* ]]
	[[ "$output" == *"mean predicted probability (score)"* ]]
	[ "$(printf '%s\n' "$output" | wc -l)" -ge 39 ]
	# the same figure from metrics through a pipe
	"$BIN/metrics" "$T/pred.mpk" | "$PLOT" --reliability -o - --format dumb | grep -q "equal width"
}

@test "plot --reliability: no calibration frame, a bad one, or --binning without --reliability fail clearly (issue 18.4)" {
	run -1 --separate-stderr "$PLOT" --reliability -o "$T/a.png" "$T/roc.mpk"
	[ -z "$output" ]
	[ "$stderr" = "plot: no calibration frames in the input (metrics --format frames writes them for binary predictions)" ]
	[ ! -e "$T/a.png" ]
	printf '%s\n' '{"kind":"calibration","binning":"width","bin_lo":[0,0.5],"bin_hi":[0.5,1],"bin_n":[3]}' |
		$MK pack >"$T/badcal.mpk"
	run -1 --separate-stderr "$PLOT" --reliability -o "$T/a.png" "$T/badcal.mpk"
	[[ "$stderr" == *"badcal.mpk: frame 0: calibration frame without equal-length bin arrays"* ]]
	run -1 --separate-stderr "$PLOT" --reliability --binning mass -o "$T/a.png" "$T/badcal.mpk"
	[[ "$stderr" == "plot: no calibration frame with --binning mass among the 1 in the input" ]]
	[ ! -e "$T/a.png" ]
	run -2 --separate-stderr "$PLOT" --roc --binning mass "$T/roc.mpk"
	[ -z "$output" ]
	[[ "$stderr" == "plot: --binning applies to --reliability"* ]]
	run -2 "$PLOT" --reliability --binning size "$T/roc.mpk"
	run -2 "$PLOT" --reliability --roc "$T/roc.mpk"
}

@test "plot --roc: at AUC 1 the legend gives the exact interval on disjoint pairs (issue 18.4)" {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/sep.mpk"
import json
for i in range(10):
    print(json.dumps({"kind": "prediction", "id": "s%d" % i, "label": int(i < 5), "score": 0.99 - i / 100 if i < 5 else 0.3}))
PY
	"$BIN/metrics" --roc "$T/sep.mpk" | "$PLOT" --roc -o "$T/sep.png" --keep-script
	grep -q "AUC 1.000 (95% CI 0.478-1.000, exact)" "$T/sep.png.gp"
}
