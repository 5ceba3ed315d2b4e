#!/usr/bin/env bats
# nntrain and nninfer on hostile input and interrupted runs (issue 14):
# class names, interruptions at epoch boundaries, model checksums,
# non-finite values, runs that cannot resume.  The small CNN at 32x32.
# shellcheck disable=SC2030,SC2031,SC2154  # run_split (io-common) sets status and err

setup() {
	load ../lib/io-common
	load ../lib/smallcnn	# feed, train, history; skips without the data set
}

pred_classes() {	# pred_classes MODEL: "id pred_class" per test image
	"$BIN/imgload" -q --size 32 "$D/TEST" | "$BIN/nninfer" --model "$1" > "$T/p.mpk"
	$PY -c '
import msgpack, sys
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    print(f["id"], f["pred"], f["pred_class"])' "$T/p.mpk"
}

@test "nntrain --classes: the names reach the model and nninfer's pred_class" {
	train 1 --classes chest,abdomen --save "$T/m.mpk" > /dev/null
	"$BIN/peek" "$T/m.mpk" | head -1 | grep -q 'classes=\["chest","abdomen"\]'
	run pred_classes "$T/m.mpk"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		[[ "$l" == *" 0 chest" || "$l" == *" 1 abdomen" ]] || { echo "$l"; false; }
	done
	# a wrong count is bad usage
	expect_usage_errors nntrain /dev/null "--classes a,b,c" "--classes a,,b" \
	    "--num-classes 3 --classes a,b" "--resume ck.mpk --weights m.mpk"
}

@test "nntrain without --classes: names from the batch frames, kept across --resume" {
	train 1 --save "$T/m.mpk" > /dev/null
	"$BIN/peek" "$T/m.mpk" | head -1 | grep -q 'classes=\["openI_CXR","openI_abd_xray"\]'
	run pred_classes "$T/m.mpk"
	[ "$status" -eq 0 ]
	for l in "${lines[@]}"; do
		[[ "$l" == *" 0 openI_CXR" || "$l" == *" 1 openI_abd_xray" ]] || { echo "$l"; false; }
	done
	# a run resumed after its last batch sees no batch: the names come
	# from the checkpoint
	RADPIPE_TEST_SIGNAL_AFTER_STEP=13 train 1 --checkpoint "$T/ck.mpk" > /dev/null 2>&1 || true
	train 1 --resume "$T/ck.mpk" --save "$T/r.mpk" > /dev/null
	"$BIN/peek" "$T/r.mpk" | head -1 | grep -q 'classes=\["openI_CXR","openI_abd_xray"\]'
}

# interrupt [SIGNAL_AFTER_STEP]: kill a 3-epoch run after that step, resume
# it, and compare history, final and best model with the uninterrupted run
interrupt_and_compare() {
	train 3 --save "$T/full.mpk" --best "$T/fbest.mpk" --lr-plateau 1,0.5 > "$T/full.h"
	RADPIPE_TEST_SIGNAL_AFTER_STEP=$1 run_split timeout 120 bash -c "$(declare -f feed train);
	    D='$D' BIN='$BIN' T='$T'; train 3 --checkpoint '$T/ck.mpk' --best '$T/best.mpk' --lr-plateau 1,0.5"
	[ "$status" -eq 1 ]
	[[ "$err" == *"interrupted by signal 15; checkpoint saved"* ]]
	cp "$T/out" "$T/part1.h"
	timeout 120 bash -c "$(declare -f feed train); D='$D' BIN='$BIN' T='$T';
	    train 3 --resume '$T/ck.mpk' --save '$T/res.mpk' --best '$T/best.mpk' --lr-plateau 1,0.5" > "$T/part2.h"
	cat "$T/part1.h" "$T/part2.h" > "$T/both.h"
	diff <(history "$T/full.h") <(history "$T/both.h")
	cmp "$T/full.mpk" "$T/res.mpk"
	cmp "$T/fbest.mpk" "$T/best.mpk"
}

@test "nntrain: SIGTERM at an epoch boundary, then --resume, equals the uninterrupted run" {
	interrupt_and_compare 13        # the last step of epoch 1 (13 batches of 5)
}

@test "nntrain: SIGTERM after the final step, then --resume, equals the uninterrupted run" {
	interrupt_and_compare 39
}

@test "nntrain: --max-steps at an epoch boundary, then --resume, equals the uninterrupted run" {
	train 2 --save "$T/full.mpk" > "$T/full.h"
	train 2 --checkpoint "$T/ck.mpk" --max-steps 13 > "$T/part1.h"
	train 2 --resume "$T/ck.mpk" --save "$T/res.mpk" > "$T/part2.h"
	cat "$T/part1.h" "$T/part2.h" > "$T/both.h"
	diff <(history "$T/full.h") <(history "$T/both.h")
	cmp "$T/full.mpk" "$T/res.mpk"
}

@test "nntrain --resume: a model file that is not a checkpoint is refused" {
	train 1 --save "$T/m.mpk" > /dev/null
	run_split timeout 60 bash -c "$(declare -f feed train); D='$D' BIN='$BIN' T='$T'; train 1 --resume '$T/m.mpk'"
	[ "$status" -eq 1 ]
	[ ! -s "$T/out" ]
	[[ "$err" == "nntrain: --resume $T/m.mpk: not a checkpoint"*"--weights"* ]]
}

@test "nntrain: a batch of 0 images is a one-line error naming batch and epoch" {
	$PY -c '
import msgpack, sys
b = {"kind": "batch", "ids": [], "labels": [], "classes": [],
     "x": {"dtype": "u8", "shape": [0, 32, 32, 3], "data": b""}}
sys.stdout.buffer.write(msgpack.packb({"kind": "epoch", "index": 0, "count": 1}) +
                        msgpack.packb(b, use_bin_type=True))' > "$T/empty.mpk"
	run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn < "$T/empty.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[ "$err" = "nntrain: stdin: frame 1: batch 1 of epoch 1 holds no images" ]
	# after good batches (the empty one without its epoch frame)
	$PY -c '
import msgpack, sys
u = msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False); next(u)
sys.stdout.buffer.write(msgpack.packb(next(u), use_bin_type=True))' "$T/empty.mpk" > "$T/empty1.mpk"
	run_split timeout 60 bash -c "{ '$BIN/imgload' -q --size 32 '$D/TRAIN' | '$BIN/batch' 5; cat '$T/empty1.mpk'; } | '$BIN/nntrain' -q --arch small_cnn"
	[ "$status" -eq 1 ]
	[[ "$err" == "nntrain: stdin: frame "*": batch 14 of epoch 1 holds no images" ]]
}

edit() { $PY "$ROOT/tests/lib/model_edit.py" "$@"; }

@test "model files: every param and moment frame carries a sha256 an independent reader verifies" {
	train 1 --save "$T/m.mpk" --checkpoint "$T/ck.mpk" > /dev/null
	run edit verify "$T/m.mpk"
	[ "$status" -eq 0 ]; [ "$output" -eq 26 ]
	run edit verify "$T/ck.mpk"
	[ "$status" -eq 0 ]; [ "$output" -gt 26 ]
}

@test "model files: a flipped byte in a weight fails nninfer, --weights and --resume naming file and parameter" {
	train 1 --save "$T/m.mpk" --checkpoint "$T/ck.mpk" > /dev/null
	edit flip "$T/m.mpk" "$T/bad.mpk" conv2d_1/kernel:0
	"$BIN/imgload" -q --size 32 "$D/TEST" > "$T/test.mpk"
	run_split timeout 60 "$BIN/nninfer" --model "$T/bad.mpk" < "$T/test.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[ "$err" = "nninfer: $T/bad.mpk: checksum mismatch in param conv2d_1/kernel:0 (the file is damaged or was changed after it was written)" ]
	feed 1 > "$T/s.mpk"
	run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn --weights "$T/bad.mpk" < "$T/s.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[[ "$err" == "nntrain: $T/bad.mpk: checksum mismatch in param conv2d_1/kernel:0 "* ]]
	edit flip "$T/ck.mpk" "$T/badck.mpk" dense_1/kernel:0 moment
	run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn --resume "$T/badck.mpk" < "$T/s.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[[ "$err" == "nntrain: $T/badck.mpk: checksum mismatch in moment m of dense_1/kernel:0 "* ]]
	[ "$(echo "$err" | wc -l)" -eq 1 ]
	# a file from before checksums loads, with a note
	edit strip "$T/m.mpk" "$T/old.mpk"
	run_split timeout 60 "$BIN/nninfer" --model "$T/old.mpk" < "$T/test.mpk"
	[ "$status" -eq 0 ]; [ -s "$T/out" ]
	[[ "$err" == *"old.mpk: 26 tensors have no checksum"*"not verified" ]]
}

@test "nntrain: NaN pixels in a float batch are refused, naming frame and image; no model saved" {
	feed 1 | $PY -c '
import msgpack, sys, numpy as np
nb = 0
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False, max_buffer_size=1 << 30):
    if f.get("kind") == "batch":
        x = np.frombuffer(f["x"]["data"], np.uint8).astype("<f4")
        nb += 1
        if nb == 3:
            x[x.size // f["x"]["shape"][0] + 7] = np.nan
        f["x"] = {"dtype": "f32", "shape": f["x"]["shape"], "data": x.tobytes()}
    sys.stdout.buffer.write(msgpack.packb(f, use_bin_type=True))' > "$T/nan.mpk"
	run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn --save "$T/m.mpk" < "$T/nan.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]; [ ! -e "$T/m.mpk" ]
	[[ "$err" == "nntrain: stdin: frame 3: "*": pixel 7 is NaN (float images must be finite)" ]]
	# the same batches as a validation set
	run_split timeout 60 bash -c "'$BIN/nntrain' -q --arch small_cnn --val '$T/nan.mpk' < '$T/nan.mpk'"
	[ "$status" -eq 1 ]
	[[ "$err" == "nntrain: --val $T/nan.mpk: "*"pixel 7 is NaN"* ]]
	# and in nninfer
	train 1 --save "$T/good.mpk" > /dev/null
	run_split timeout 60 "$BIN/nninfer" --model "$T/good.mpk" < "$T/nan.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[[ "$err" == "nninfer: stdin: frame 3: "*": pixel 7 is NaN (float images must be finite)" ]]
}

@test "nninfer: a model holding NaN is refused at load; a non-finite score is an error naming the id" {
	train 1 --save "$T/m.mpk" > /dev/null
	"$BIN/imgload" -q --size 32 "$D/TEST" > "$T/test.mpk"
	edit set "$T/m.mpk" "$T/nan.mpk" dense_2/bias:0 nan
	edit verify "$T/nan.mpk"
	run_split timeout 60 "$BIN/nninfer" --model "$T/nan.mpk" < "$T/test.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[ "$err" = "nninfer: $T/nan.mpk: param dense_2/bias:0 holds non-finite values (NaN or Inf)" ]
	feed 1 > "$T/s.mpk"
	run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn --weights "$T/nan.mpk" < "$T/s.mpk"
	[ "$status" -eq 1 ]
	[[ "$err" == *"param dense_2/bias:0 holds non-finite values"* ]]
	# finite weights whose output overflows: inf - inf in the last layer
	edit set "$T/m.mpk" "$T/b1.mpk" dense_1/kernel:0 3e38
	edit set "$T/b1.mpk" "$T/big.mpk" dense_2/kernel:0 0.1,-0.1
	run_split timeout 60 "$BIN/nninfer" --model "$T/big.mpk" < "$T/test.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[ "$err" = "nninfer: $T/big.mpk: the model's output for abd2.png is nan (not finite): no prediction written" ]
}

@test "nntrain(1), nninfer(1): lint-clean and name every option of --help" {
	check_man nntrain
	check_man nninfer
}

@test "nntrain: parameters that overflow with a finite loss stop the run at that step, naming the parameter" {
	# finite but huge pixels: BN's moving variance overflows to inf while
	# the loss stays finite; the check after every step catches it
	feed 1 | $PY -c '
import msgpack, sys, numpy as np
nb = 0
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False, max_buffer_size=1 << 30):
    if f.get("kind") == "batch":
        x = np.frombuffer(f["x"]["data"], np.uint8).astype("<f4")
        nb += 1
        if nb == 3:
            x[x.size // f["x"]["shape"][0] + 7] = 3e38
        f["x"] = {"dtype": "f32", "shape": f["x"]["shape"], "data": x.tobytes()}
    sys.stdout.buffer.write(msgpack.packb(f, use_bin_type=True))' > "$T/big.mpk"
	for dev in cpu ref; do
		rm -f "$T/m.mpk" "$T/ck.mpk"
		run_split timeout 60 "$BIN/nntrain" -q --arch small_cnn --device $dev --save "$T/m.mpk" \
		    --checkpoint "$T/ck.mpk" < "$T/big.mpk"
		[ "$status" -eq 1 ]; [ ! -s "$T/out" ]; [ ! -e "$T/m.mpk" ]; [ ! -e "$T/ck.mpk" ]
		[ "$err" = "nntrain: training diverged: parameter batch_normalization_1/moving_variance:0 holds non-finite values (NaN or Inf) after step 3 (lower --lr?); nothing saved" ]
	done
}

@test "nntrain: a signal after --max-steps keeps the checkpoint of the halt" {
	train 1 --save "$T/full.mpk" > "$T/full.h"
	feed 1 > "$T/s.mpk"
	( echo "$BASHPID" > "$T/feeder.pid"; cat "$T/s.mpk"; exec sleep 30 ) 3>&- | "$BIN/nntrain" -q --arch small_cnn \
	    --lr 1e-3 --seed 3 --val "$T/val.mpk" --checkpoint "$T/ck.mpk" --max-steps 4 \
	    > "$T/part1.h" 2> "$T/err" 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -s "$T/ck.mpk" ] && break; sleep 0.2; done
	sleep 2         # the rest of the epoch is read (and ignored) meanwhile
	kill -TERM "$pid"
	for _ in $(seq 100); do grep -q 'interrupted by signal 15' "$T/err" && break; sleep 0.1; done
	kill "$(cat "$T/feeder.pid")" 2>/dev/null || true     # wait waits for the whole pipeline
	wait "$pid" || true
	grep -q 'interrupted by signal 15' "$T/err"
	train 1 --resume "$T/ck.mpk" --save "$T/res.mpk" > "$T/part2.h"
	cat "$T/part1.h" "$T/part2.h" > "$T/both.h"
	diff <(history "$T/full.h") <(history "$T/both.h")
	cmp "$T/full.mpk" "$T/res.mpk"
}
