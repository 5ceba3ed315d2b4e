#!/usr/bin/env bats
# Grad-CAM as a user runs it (issue 18 item 1): nninfer --cam against
# PyTorch's autograd Grad-CAM (tests/ref/gradcam_fixture.h, written by
# tests/ref/make_gradcam_fixture.py) on the same small CNN and weights, on
# every backend; its keys, errors and invariances; plot --cam.
# The fixture's model and images come from build/tests/gradcam_model
# (tests/ref/gradcam_model.c, built by make), which also checks the maps:
# within 1e-4 of each reference map's maximum, the layer and the class.

bats_require_minimum_version 1.5.0

setup() {
	load ../lib/io-common
	GM="${RADPIPE_BUILD:-$ROOT/build}/tests/gradcam_model"
	[ -x "$GM" ] || skip "build/tests/gradcam_model is not built (make)"
	cd "$T"
	"$GM" model 1 s1.mpk
	"$GM" model 3 s3.mpk
	"$GM" samples > gs.mpk
}

# fixture DEVICE: nninfer --cam on the fixture's five cases (sigmoid
# activation_5 class 1, concatenate_1 class 1, activation_5 class 0 as the
# predicted class; softmax activation_5 class 2, concatenate_1 the most
# probable class), each checked by gradcam_model.
fixture() {
	local d=$1 nn="$BIN/nninfer --device $1 -q"
	$nn --model s1.mpk --cam=activation_5 --cam-class 1 < gs.mpk | "$GM" check 0
	$nn --model s1.mpk --cam=concatenate_1 --cam-class 1 < gs.mpk | "$GM" check 1
	$nn --model s1.mpk --cam < gs.mpk | "$GM" check 2     # predicted: class 0
	$nn --model s3.mpk --cam --cam-class 2 --batch 2 < gs.mpk | "$GM" check 3
	$nn --model s3.mpk --cam=concatenate_1 < gs.mpk | "$GM" check 4
	echo "$d: ok"
}

@test "cam: nninfer --cam matches PyTorch's Grad-CAM on the ref backend" {
	run fixture ref
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "cam: nninfer --cam matches PyTorch's Grad-CAM on the cpu backend" {
	run fixture cpu
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "cam: nninfer --cam matches PyTorch's Grad-CAM on the cuda backend" {
	run --separate-stderr "$BIN/nninfer" --device cuda --model s1.mpk < /dev/null
	[ "$status" -eq 0 ] || skip "no cuda backend: $stderr"
	run fixture cuda
	echo "$output"
	[ "$status" -eq 0 ]
}

# the check itself fails on a wrong map (it is not vacuous)
@test "cam: the fixture check refuses the map of the other class" {
	run bash -c "'$BIN/nninfer' -q --model s1.mpk --cam --cam-class 0 < gs.mpk | '$GM' check 0"
	[ "$status" -eq 1 ]
	[[ "$output" == *"want activation_5 class 1"* ]]
}

# The predictions less the cam keys, one JSON line each.
strip_cam() {
	$PY -c '
import msgpack, sys, json
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    for k in ("cam", "cam_layer", "cam_class"): f.pop(k, None)
    print(json.dumps(f, sort_keys=True))' "$1"
}

@test "cam: --cam adds cam, cam_layer, cam_class and changes nothing else; batch size does not change maps" {
	"$BIN/nninfer" -q --model s1.mpk < gs.mpk > plain.mpk
	"$BIN/nninfer" -q --model s1.mpk --cam --batch 1 < gs.mpk > c1.mpk
	"$BIN/nninfer" -q --model s1.mpk --cam --batch 3 < gs.mpk > c3.mpk
	[ "$("$BIN/peek" < plain.mpk | grep -c cam)" -eq 0 ]
	[ "$("$BIN/peek" < c1.mpk | grep -c 'cam=f32\[5,5\]')" -eq 3 ]
	[ "$(strip_cam plain.mpk)" = "$(strip_cam c1.mpk)" ]
	$PY -c '
import msgpack, sys
import numpy as np
a, b = (list(msgpack.Unpacker(open(p, "rb"), raw=False)) for p in sys.argv[1:3])
assert len(a) == len(b) == 3
for x, y in zip(a, b):
    assert x["cam_layer"] == "activation_5" and x["cam_class"] == x["pred"] == 0, x
    t = x["cam"]
    assert t["dtype"] == "f32" and t["shape"] == [5, 5], t
    m1 = np.frombuffer(t["data"], "<f4"); m3 = np.frombuffer(y["cam"]["data"], "<f4")
    assert (m1 >= 0).all() and m1.max() > 0
    assert np.abs(m1 - m3).max() <= 1e-5 * m1.max(), (m1, m3)' c1.mpk c3.mpk
}

@test "cam: with --tta flip the map explains the averaged prediction's class" {
	"$BIN/nninfer" -q --model s3.mpk --cam --tta flip < gs.mpk > t.mpk
	$PY -c '
import msgpack, sys
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    assert f["cam_class"] == f["pred"], f' t.mpk
}

@test "cam: a layer that does not exist or has no spatial extent exits 1 naming it; usage errors exit 2" {
	run --separate-stderr "$BIN/nninfer" --model s1.mpk --cam=mixed10 < gs.mpk
	[ "$status" -eq 1 ] && [ -z "$output" ]
	[[ "$stderr" == "nninfer: s1.mpk: Grad-CAM: no layer called 'mixed10'" ]]
	for l in global_average_pooling2d_1 dense_1 dense_2; do
		run --separate-stderr "$BIN/nninfer" --model s1.mpk --cam=$l < gs.mpk
		[ "$status" -eq 1 ] && [ -z "$output" ]
		[[ "$stderr" == *"layer $l has no spatial extent"* ]]
	done
	run --separate-stderr "$BIN/nninfer" --model s1.mpk --cam-class 1 < gs.mpk
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == "nninfer: --cam-class needs --cam"* ]]
	run --separate-stderr "$BIN/nninfer" --model s3.mpk --cam --cam-class 3 < gs.mpk
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == *"--cam-class 3: the model s3.mpk has 3 classes"* ]]
	run --separate-stderr "$BIN/nninfer" --model s1.mpk --cam activation_5 < gs.mpk
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == *"a layer is named as --cam=LAYER"* ]]
	"$BIN/nninfer" --help | grep -q -- '--cam\[=LAYER\]'
	check_man nninfer
}

# ---- plot --cam ----

png_size() {
	$PY -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
print(*struct.unpack(">II", b[16:24]))' "$1"
}

@test "cam: plot --cam draws the maps over the images with a colour scale (png, svg, pdf)" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed (Debian: gnuplot-nox)"
	"$BIN/nninfer" -q --model s1.mpk --cam < gs.mpk > p.mpk
	"$BIN/plot" -q --cam --images gs.mpk --tile 100 --keep-script -o cam.png p.mpk
	# 2 x 2 tiles of 100 + 2 x 6 padding, 54 caption pixels, 64 for the
	# scale; the title band (30)
	[ "$(png_size cam.png)" = "288 362" ]
	grep -q "Grad-CAM of layer activation_5, class: the predicted class" cam.png.gp
	grep -q "set label '1.0'" cam.png.gp
	# the tiles are coloured: the raw RGB holds pixels that are not gray
	$PY -c '
import sys
b = open(sys.argv[1], "rb").read()
px = [b[i:i + 3] for i in range(0, len(b), 3)]
assert sum(1 for p in px if max(p) - min(p) > 60) > 1000' cam.png.dat
	"$BIN/plot" -q --cam --images gs.mpk -t TEST -o cam.svg p.mpk
	grep -q 'TEST: Grad-CAM of layer activation_5' cam.svg
	"$BIN/plot" -q --cam --images gs.mpk -o cam.pdf p.mpk
	head -c 5 cam.pdf | grep -q '%PDF-'
}

@test "cam: plot --cam names the images without a map; none with one, bad maps and bad usage fail" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed (Debian: gnuplot-nox)"
	"$BIN/nninfer" -q --model s1.mpk --cam < gs.mpk > p.mpk
	"$BIN/nninfer" -q --model s1.mpk < gs.mpk > plain.mpk
	# gcfx1 without its map
	$PY -c '
import msgpack, sys
out = open(sys.argv[2], "wb")
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if f["id"] == "gcfx1":
        for k in ("cam", "cam_layer", "cam_class"): del f[k]
    out.write(msgpack.packb(f))' p.mpk some.mpk
	run --separate-stderr "$BIN/plot" --cam --images gs.mpk -o some.png some.mpk
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"gcfx1: no Grad-CAM map in its prediction (nninfer --cam writes them)"* ]]
	[ -s some.png ]
	run --separate-stderr "$BIN/plot" --cam --images gs.mpk -o none.png plain.mpk
	[ "$status" -eq 1 ] && [ ! -e none.png ]
	[[ "$stderr" == *"no prediction has a Grad-CAM map"* ]]
	# a map of the wrong type, and one with NaN
	$PY -c '
import msgpack, sys, struct
for bad, out in (("dtype", sys.argv[2]), ("nan", sys.argv[3])):
    o = open(out, "wb")
    for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
        if bad == "dtype":
            f["cam"] = {"dtype": "u8", "shape": [2, 2], "data": bytes(4)}
        else:
            f["cam"]["data"] = struct.pack("<f", float("nan")) + f["cam"]["data"][4:]
        o.write(msgpack.packb(f, use_bin_type=True))' p.mpk dt.mpk nan.mpk
	run --separate-stderr "$BIN/plot" --cam --images gs.mpk -o x.png dt.mpk
	[ "$status" -eq 1 ] && [ ! -e x.png ]
	[[ "$stderr" == *"frame 0: the cam of gcfx0 is u8[2,2], not an f32 map"* ]]
	run --separate-stderr "$BIN/plot" --cam --images gs.mpk -o x.png nan.mpk
	[ "$status" -eq 1 ] && [ ! -e x.png ]
	[[ "$stderr" == *"the cam of gcfx0 is not finite"* ]]
	run -2 "$BIN/plot" --cam -o x.png p.mpk
	run -2 "$BIN/plot" --cam --roc -o x.png p.mpk
	run -2 "$BIN/plot" --cam --images - -o x.png p.mpk
	[ ! -e x.png ]
	check_man plot
}
