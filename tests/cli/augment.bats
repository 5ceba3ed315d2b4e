#!/usr/bin/env bats
# augment(1) run as a user would: reproducibility, splitting, pass-through,
# bad input, the man page's EXAMPLES, and equivalence with scipy (Keras).

setup() {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	. "$ROOT/tests/lib/inputs.bash"	# RADPIPE_DATA, else data/
	tests_find_inputs "$ROOT"
	BIN=${RADPIPE_BIN:-$ROOT/bin}
	AUG=$BIN/augment
	MK="/usr/bin/python3 $ROOT/tests/lib/mkframes.py"
	T=$BATS_TEST_TMPDIR
	PAPER="--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip"
	[ -x "$AUG" ] || skip "bin/augment not built"
	/usr/bin/python3 -c 'import msgpack, numpy' 2>/dev/null || skip "python3-msgpack/numpy missing"
}

# x tensors of a stream, one sha line per sample/batch frame
pixels() {
	$MK dump | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    f = json.loads(l)
    if "x" in f: print(f["x"]["sha256"])'
}

@test "same seed gives identical bytes; another seed or epoch differs" {
	$MK samples --n 6 --h 31 --w 23 --epochs 2 >"$T/in.mpk"
	$AUG --seed 5 $PAPER <"$T/in.mpk" >"$T/a.mpk"
	$AUG --seed 5 $PAPER <"$T/in.mpk" >"$T/b.mpk"
	cmp "$T/a.mpk" "$T/b.mpk"
	$AUG --seed 6 $PAPER <"$T/in.mpk" >"$T/c.mpk"
	! cmp -s "$T/a.mpk" "$T/c.mpk"
	# epoch 1 repeats epoch 0's images but draws new transforms
	run bash -c "$MK slice 1 7 <'$T/a.mpk' | $MK dump | grep -c '\"augment\"'"
	[ "$output" = 6 ]
	e0=$($MK slice 1 7 <"$T/a.mpk" | pixels)
	e1=$($MK slice 8 14 <"$T/a.mpk" | pixels)
	[ "$e0" != "$e1" ]
}

@test "a stream split in two processes gives the same bytes as one" {
	$MK samples --n 5 --h 20 --w 17 --epochs 2 >"$T/in.mpk"
	$AUG --seed 9 $PAPER --invert 0.5 --noise 0.01 <"$T/in.mpk" >"$T/one.mpk"
	# at the epoch boundary (frame 6 is epoch 1) and in the middle of epoch 0
	for cut in 6 3; do
		$MK slice 0 "$cut" <"$T/in.mpk" | $AUG --seed 9 $PAPER --invert 0.5 --noise 0.01 >"$T/h1.mpk"
		if [ "$cut" = 3 ]; then
			# the second process must see the epoch frame it starts in
			$MK slice 3 <"$T/in.mpk" | $AUG --seed 9 $PAPER --invert 0.5 --noise 0.01 >"$T/h2.mpk"
		else
			$MK slice 6 <"$T/in.mpk" | $AUG --seed 9 $PAPER --invert 0.5 --noise 0.01 >"$T/h2.mpk"
		fi
		cat "$T/h1.mpk" "$T/h2.mpk" | cmp - "$T/one.mpk"
	done
}

@test "batch images are keyed on their own ids: batch == samples" {
	$MK samples --n 3 --h 16 --w 12 >"$T/s.mpk"
	$MK batch --n 3 --h 16 --w 12 >"$T/b.mpk"
	$AUG --seed 4 $PAPER <"$T/s.mpk" >"$T/so.mpk"
	$AUG --seed 4 $PAPER <"$T/b.mpk" >"$T/bo.mpk"
	run /usr/bin/python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/lib")
from mkframes import read_frames, array
import numpy as np
s = list(read_frames(open(sys.argv[1], "rb")))
b = list(read_frames(open(sys.argv[2], "rb")))[0]
x = array(b["x"])
for i, f in enumerate(s):
    assert (array(f["x"]) == x[i]).all(), i
    assert f["meta"]["augment"] == b["metas"][i]["augment"], i
print("ok")' "$T/so.mpk" "$T/bo.mpk"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "unknown frames and keys pass through unchanged and in order" {
	{
		$MK frame '{"kind": "hello", "n": 1, "nested": {"a": [1, 2]}}'
		$MK samples --n 2 --meta '{"source": "x.png", "size": [10, 10]}'
		$MK frame '{"kind": "metrics", "loss": 0.5}'
	} >"$T/in.mpk"
	$AUG --seed 1 $PAPER <"$T/in.mpk" >"$T/out.mpk"
	[ "$($MK count <"$T/out.mpk")" = 4 ]
	$MK slice 0 1 <"$T/in.mpk" >"$T/f0"
	$MK slice 0 1 <"$T/out.mpk" | cmp - "$T/f0"
	$MK slice 3 4 <"$T/in.mpk" >"$T/f3"
	$MK slice 3 4 <"$T/out.mpk" | cmp - "$T/f3"
	run bash -c "$MK slice 1 2 <'$T/out.mpk' | $MK dump"
	[[ "$output" == *'"id": "cls/000.png", "label": 0, "class": "chest"'* ]]
	[[ "$output" == *'"source": "x.png", "size": [10, 10], "augment": [{"seed": 1'* ]]
}

@test "no transform option copies the stream byte for byte" {
	$MK samples --n 3 --epochs 2 >"$T/in.mpk"
	$AUG --seed 1 <"$T/in.mpk" | cmp - "$T/in.mpk"
	$AUG --seed 1 --fill reflect --interp nearest <"$T/in.mpk" | cmp - "$T/in.mpk"
}

@test "identity settings leave the pixels bit-exact (u8, u16, f32, any channels)" {
	for spec in "u8 3" "u16 1" "f32 4" "u8 2"; do
		set -- $spec
		$MK samples --n 3 --h 13 --w 9 --dtype "$1" --c "$2" >"$T/in.mpk"
		a=$(pixels <"$T/in.mpk")
		b=$($AUG --seed 1 --rotate 0 --shift 0 --zoom-range 1,1 --gamma 1 <"$T/in.mpk" | pixels)
		[ "$a" = "$b" ]
	done
}

@test "chained stages append one meta.augment entry each" {
	$MK samples --n 2 >"$T/in.mpk"
	run bash -c "$AUG --seed 1 --rotate 20 <'$T/in.mpk' | $AUG --seed 2 --hflip --contrast 0.2 | $MK dump"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"augment": [{"seed": 1, "epoch": 0, "matrix": '*'{"seed": 2, "epoch": 0, "matrix": '*'"contrast": '* ]]
}

@test "intensity: invert 1 gives max - x; gamma and brightness stay in range" {
	$MK samples --n 2 --h 5 --w 4 --dtype u16 --c 1 >"$T/in.mpk"
	run /usr/bin/python3 -c '
import sys, subprocess; sys.path.insert(0, "'"$ROOT"'/tests/lib")
from mkframes import read_frames, array
inp = open(sys.argv[1], "rb").read()
out = subprocess.run(["'"$AUG"'", "--seed", "1", "--invert", "1"], input=inp, capture_output=True, check=True).stdout
import io
for a, b in zip(read_frames(io.BytesIO(inp)), read_frames(io.BytesIO(out))):
    assert (array(b["x"]) == 65535 - array(a["x"])).all()
    assert b["meta"]["augment"][0]["invert"] is True
print("ok")' "$T/in.mpk"
	[ "$output" = ok ]
	$AUG --seed 1 --brightness 0.5 --contrast 0.5 --gamma 0.5,2 --noise 0.1 <"$T/in.mpk" >"$T/out.mpk"
	[ "$($MK count <"$T/out.mpk")" = 2 ]
}

@test "without --seed the seed is printed, and reproduces the output" {
	$MK samples --n 2 >"$T/in.mpk"
	$AUG $PAPER <"$T/in.mpk" >"$T/a.mpk" 2>"$T/err"
	grep -Eq '^augment: seed [0-9]+$' "$T/err"
	seed=$(sed -n 's/^augment: seed //p' "$T/err")
	$AUG --seed "$seed" $PAPER <"$T/in.mpk" 2>/dev/null | cmp - "$T/a.mpk"
	run bash -c "$AUG -q $PAPER <'$T/in.mpk' 2>&1 >/dev/null"
	[ -z "$output" ]
}

@test "bad options exit 2 with a message and empty stdout" {
	$MK samples --n 1 >"$T/in.mpk"
	for opts in "--rotate -5" "--rotate abc" "--shift 1.5" "--shift -3px" "--zoom 1" \
	    "--zoom-range 1.2,0.8" "--zoom-range 0,1" "--fill mirror" "--interp cubic" \
	    "--gamma 0" "--gamma 2,1" "--invert 1.5" "--noise -1" "--brightness 2" \
	    "--shear 95" "--seed -1" "--bogus" "--rotate" "extra"; do
		run bash -c "$AUG $opts <'$T/in.mpk' 2>'$T/err' >'$T/out'"
		[ "$status" -eq 2 ] || { echo "status $status for $opts"; false; }
		[ ! -s "$T/out" ] || { echo "stdout not empty for $opts"; false; }
		grep -q '^augment: ' "$T/err" || { echo "no message for $opts"; false; }
	done
}

@test "bad frames exit 1 with a message and empty stdout" {
	/usr/bin/python3 -c '
import sys; sys.path.insert(0, "'"$ROOT"'/tests/lib")
from mkframes import write_frame, tensor
import numpy as np
def put(name, fr):
    with open("'"$T"'/" + name + ".mpk", "wb") as f: write_frame(f, fr)
put("rank2", {"kind": "sample", "id": "a", "x": tensor(np.zeros((4, 4), np.uint8))})
put("i32", {"kind": "sample", "id": "a", "x": tensor(np.zeros((4, 4, 1), np.int32))})
put("noid", {"kind": "sample", "x": tensor(np.zeros((4, 4, 1), np.uint8))})
put("nox", {"kind": "sample", "id": "a"})
put("badlen", {"kind": "sample", "id": "a", "x": {"dtype": "u8", "shape": [4, 4, 1], "data": b"abc"}})
put("f32", {"kind": "sample", "id": "a", "x": tensor(np.zeros((4, 4, 1), np.float32))})
put("batchids", {"kind": "batch", "ids": ["a"], "x": tensor(np.zeros((2, 4, 4, 1), np.uint8))})
'
	$MK samples --n 1 | head -c 100 >"$T/trunc.mpk"
	for f in rank2 i32 noid nox badlen batchids trunc; do
		run bash -c "$AUG --seed 1 --rotate 10 <'$T/$f.mpk' 2>'$T/err' >'$T/out'"
		[ "$status" -eq 1 ] || { echo "status $status for $f"; false; }
		[ ! -s "$T/out" ] || { echo "stdout not empty for $f"; false; }
		grep -q '^augment: ' "$T/err" || { echo "no message for $f"; false; }
	done
	# f32: geometric transforms work, intensity ones are refused
	$AUG --seed 1 --rotate 10 <"$T/f32.mpk" >/dev/null
	run bash -c "$AUG --seed 1 --gamma 2 <'$T/f32.mpk' 2>/dev/null >'$T/out'"
	[ "$status" -eq 1 ]
	[ ! -s "$T/out" ]
}

@test "matches scipy.ndimage.affine_transform with the recorded matrix (Keras)" {
	/usr/bin/python3 -c 'import scipy' 2>/dev/null || skip "python3-scipy missing"
	CHECK="/usr/bin/python3 $ROOT/tests/lib/augment_scipy_check.py"
	$MK samples --n 6 --h 299 --w 299 >"$T/in.mpk"
	$MK samples --n 6 --h 40 --w 57 --c 1 --dtype u16 >"$T/in16.mpk"
	for fill in nearest reflect wrap constant; do
		for f in in in16; do
			# nearest: exact; bilinear: exact here, contract <= 1 on >= 99.9 %
			$AUG --seed 3 $PAPER --vflip --fill $fill --cval 17 --interp nearest <"$T/$f.mpk" >"$T/n.mpk"
			$CHECK "$T/$f.mpk" "$T/n.mpk" --min-equal 1 --max-diff 0
			$AUG --seed 3 $PAPER --vflip --fill $fill --cval 17 --interp bilinear <"$T/$f.mpk" >"$T/b.mpk"
			$CHECK "$T/$f.mpk" "$T/b.mpk" --min-equal 0.999 --max-diff 1
		done
	done
}

@test "EXAMPLES of augment(1) run" {
	man=$ROOT/man/man1/augment.1
	$MK samples --n 4 --h 24 --w 20 >"$T/in.mpk"
	awk '/^\.Sh EXAMPLES/ { on = 1; next } /^\.Sh/ { on = 0 }
	     on && /^\.Bd/ { n++; blk = 1; next } /^\.Ed/ { blk = 0; next }
	     on && blk { gsub(/\\e/, "\\"); print > ("'"$T"'/ex" n ".sh") }' "$man"
	ls "$T"/ex*.sh >/dev/null
	cd "$T"
	export PATH="$BIN:$PATH"
	for ex in "$T"/ex*.sh; do
		if grep -q RADPIPE_DATA "$ex"; then
			if [ ! -d "${RADPIPE_DATA:-/nonexistent}/TRAIN" ] || [ ! -x "$BIN/imgload" ] || [ ! -x "$BIN/batch" ]; then
				echo "# skipping $(basename "$ex"): needs RADPIPE_DATA, bin/imgload, bin/batch" >&3
				continue
			fi
		fi
		rm -f out.mpk train.mpk
		bash -eo pipefail "$ex" 2>"$T/ex.err" || { cat "$ex" "$T/ex.err"; false; }
		[ -s out.mpk ] || [ -s train.mpk ]
	done
}
