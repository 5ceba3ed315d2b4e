#!/usr/bin/env bats
# nntrain and nninfer as a user runs them: the small CNN on the tutorial's
# images at 32x32 (fast), checkpoints, exact resumption, bad input.
bats_require_minimum_version 1.5.0

setup() {
	load ../lib/io-common
	load ../lib/smallcnn	# feed, train, history; skips without the data set
}

@test "nntrain: four epochs, one metrics frame each, the loss falls" {
	train 4 --save "$T/m.mpk" > "$T/h.mpk"
	run history "$T/h.mpk"
	[ "${#lines[@]}" -eq 4 ]
	run $PY -c '
import msgpack, sys
h = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
assert [f["epoch"] for f in h] == [1, 2, 3, 4], h
assert all(f["kind"] == "metrics" and 0 <= f["val_acc"] <= 1 for f in h)
assert h[-1]["loss"] < h[0]["loss"] - 0.05, (h[0]["loss"], h[-1]["loss"])
assert h[-1]["step"] == 52' "$T/h.mpk"
	[ "$status" -eq 0 ]
	[ -s "$T/m.mpk" ]
}

@test "nntrain: two runs with one seed give identical histories and weights" {
	train 2 --save "$T/a.mpk" > "$T/ha.mpk"
	train 2 --save "$T/b.mpk" > "$T/hb.mpk"
	cmp "$T/a.mpk" "$T/b.mpk"
	[ "$(history "$T/ha.mpk")" = "$(history "$T/hb.mpk")" ]
}

@test "nntrain --timing: a per-phase summary on stderr (also with -q); model and history unchanged" {
	train 2 --save "$T/a.mpk" --checkpoint "$T/ca.mpk" > "$T/ha.mpk"
	train 2 --save "$T/b.mpk" --checkpoint "$T/cb.mpk" --timing > "$T/hb.mpk" 2> "$T/err"
	cmp "$T/a.mpk" "$T/b.mpk"
	[ "$(history "$T/ha.mpk")" = "$(history "$T/hb.mpk")" ]
	# 26 steps: the first apart; 2 validations; 2 checkpoints and the model
	grep -Eq '^nntrain: timing: first step +1 ' "$T/err"
	grep -Eq '^nntrain: timing: steps +25 ' "$T/err"
	grep -Eq '^nntrain: timing: first validation +1 ' "$T/err"
	grep -Eq '^nntrain: timing: validations +1 ' "$T/err"
	grep -Eq '^nntrain: timing: input: waiting on stdin +[0-9]+ ' "$T/err"
	bytes=$(( $(stat -c %s "$T/ca.mpk") * 2 + $(stat -c %s "$T/b.mpk") ))
	grep -q "^nntrain: timing: model files: $bytes bytes in 3 files\$" "$T/err"
	# the phases add up to the total (wall), to the printed precision
	run awk '/^nntrain: timing: total/ { tot = $(NF-1); next }
	    /^nntrain: timing: / && $(NF-1) ~ /^[0-9.]+$/ && !/process start|bytes in/ { sum += $(NF-1) }
	    END { d = sum - tot; if (d < 0) d = -d; exit !(tot > 0 && d < 0.01 * 14 + 0.001) }' "$T/err"
	[ "$status" -eq 0 ]
}

@test "nntrain: checkpoints written in the background equal those written in place" {
	# the per-epoch checkpoint is written by a forked child while training
	# goes on; RADPIPE_CHECKPOINT_SYNC=1 writes it in place (as before)
	train 3 --checkpoint "$T/ca.mpk" --best "$T/ba.mpk" --save "$T/ma.mpk" > "$T/ha.mpk"
	RADPIPE_CHECKPOINT_SYNC=1 train 3 --checkpoint "$T/cb.mpk" --best "$T/bb.mpk" --save "$T/mb.mpk" > "$T/hb.mpk"
	cmp "$T/ca.mpk" "$T/cb.mpk"
	cmp "$T/ba.mpk" "$T/bb.mpk"
	cmp "$T/ma.mpk" "$T/mb.mpk"
	[ "$(history "$T/ha.mpk")" = "$(history "$T/hb.mpk")" ]
	[ -z "$(ls "$T" | grep -F .tmp || true)" ]
	# (a halt or a signal at an epoch boundary, whose checkpoint replaces
	# the background one: nntrain_robust.bats, the --resume tests)
}

@test "nntrain: a checkpoint that cannot be written in the background fails the run, naming the file" {
	mkdir "$T/ck.mpk"	# a folder: the rename into place fails
	run --separate-stderr train 2 --checkpoint "$T/ck.mpk"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "nntrain: $T/ck.mpk"* ]]
	[ -d "$T/ck.mpk" ]
}

@test "nntrain: a checkpoint appears after every epoch and loads in nninfer" {
	train 1 --checkpoint "$T/ck.mpk" > /dev/null
	[ -s "$T/ck.mpk" ]
	"$BIN/peek" --count "$T/ck.mpk" > "$T/kinds"
	grep -q '^optim 1$' "$T/kinds"
	grep -q '^train_state 1$' "$T/kinds"
	"$BIN/imgload" -q --size 32 "$D/TEST" | "$BIN/nninfer" --model "$T/ck.mpk" > "$T/p.mpk"
	run $PY -c '
import msgpack, sys
p = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
assert sorted(f["id"] for f in p) == ["abd2.png", "chest2.png"], p
assert all(0 <= f["score"] <= 1 and f["pred"] in (0, 1) for f in p)' "$T/p.mpk"
	[ "$status" -eq 0 ]
}

@test "nntrain: stopping mid-epoch and resuming equals the uninterrupted run" {
	train 3 --save "$T/full.mpk" > "$T/full.h"
	train 3 --checkpoint "$T/ck.mpk" --max-steps 20 > "$T/part1.h"
	train 3 --resume "$T/ck.mpk" --save "$T/resumed.mpk" > "$T/part2.h"
	cmp "$T/full.mpk" "$T/resumed.mpk"
	[ "$(history "$T/full.h")" = "$(cat "$T/part1.h" "$T/part2.h" > "$T/both.h"; history "$T/both.h")" ]
}

@test "nntrain: SIGTERM writes a checkpoint that resumes" {
	( feed 2; sleep 30 ) | "$BIN/nntrain" -q --arch small_cnn --seed 3 --checkpoint "$T/ck.mpk" > "$T/h1" 2> "$T/err" &
	pid=$!
	for _ in $(seq 100); do [ -s "$T/h1" ] && break; sleep 0.2; done
	sleep 1
	pkill -TERM -f "nntrain -q --arch small_cnn --seed 3 --checkpoint $T/ck.mpk" || true
	wait "$pid" || true
	grep -q 'interrupted by signal' "$T/err"
	"$BIN/peek" --count "$T/ck.mpk" | grep -q '^train_state 1$'
}

@test "nninfer: --tta flip and --timing add their keys; --batch does not change scores" {
	train 1 --save "$T/m.mpk" > /dev/null
	"$BIN/imgload" -q --size 32 "$D/VAL" | "$BIN/nninfer" --model "$T/m.mpk" --batch 1 > "$T/b1"
	"$BIN/imgload" -q --size 32 "$D/VAL" | "$BIN/nninfer" --model "$T/m.mpk" --batch 7 > "$T/b7"
	# oneDNN may pick other kernels for other batch sizes: scores agree to float rounding
	run $PY -c '
import msgpack, sys
a, b = (list(msgpack.Unpacker(open(p, "rb"), raw=False)) for p in sys.argv[1:3])
assert [f["id"] for f in a] == [f["id"] for f in b]
assert max(abs(x["score"] - y["score"]) for x, y in zip(a, b)) < 1e-5' "$T/b1" "$T/b7"
	[ "$status" -eq 0 ]
	"$BIN/imgload" -q --size 32 "$D/VAL" | "$BIN/nninfer" --model "$T/m.mpk" --tta flip --timing > "$T/t"
	run $PY -c '
import msgpack, sys
p = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
assert len(p) == 10 and all("ms" in f and "label" in f for f in p)' "$T/t"
	[ "$status" -eq 0 ]
}

@test "nntrain: images of another size than the validation set fail clearly" {
	"$BIN/imgload" -q --size 40 "$D/VAL" > "$T/val40.mpk"
	run bash -c "'$BIN/imgload' -q --size 32 '$D/TRAIN' | '$BIN/batch' 5 | '$BIN/nntrain' -q --arch small_cnn --val '$T/val40.mpk' 2>&1 >'$T/out'"
	[ "$status" -eq 1 ]
	[[ "$output" == *"40x40x3 but the model takes 32x32x3"* ]]
	[ ! -s "$T/out" ]
}

@test "nntrain: bad input fails with a message and no output" {
	# samples instead of batches
	run bash -c "'$BIN/imgload' -q --size 32 '$D/TEST' | '$BIN/nntrain' --arch small_cnn 2>&1 >'$T/o1'"
	[ "$status" -eq 1 ]; [[ "$output" == *"batch N"* ]]; [ ! -s "$T/o1" ]
	# a label outside the classes of a binary model
	mkframes batch --n 4 --h 32 --w 32 --c 3 > "$T/b.mpk"
	$PY -c '
import msgpack, sys
f = msgpack.unpackb(open(sys.argv[1], "rb").read(), raw=False)
f["labels"] = [0, 1, 5, 0]
open(sys.argv[1], "wb").write(msgpack.packb(f, use_bin_type=True))' "$T/b.mpk"
	run bash -c "'$BIN/nntrain' --arch small_cnn < '$T/b.mpk' 2>&1 >'$T/o2'"
	[ "$status" -eq 1 ]; [[ "$output" == *"label 5"* ]]; [ ! -s "$T/o2" ]
	# an empty validation set
	: > "$T/empty.mpk"
	run bash -c "feed() { :; }; '$BIN/imgload' -q --size 32 '$D/TRAIN' | '$BIN/batch' 5 | '$BIN/nntrain' --arch small_cnn --val '$T/empty.mpk' 2>&1"
	[ "$status" -eq 1 ]; [[ "$output" == *"empty validation set"* ]]
	# an unwritable checkpoint folder is refused before training
	run bash -c "'$BIN/imgload' -q --size 32 '$D/TRAIN' | '$BIN/batch' 5 | '$BIN/nntrain' --arch small_cnn --checkpoint /nonexistent/dir/ck.mpk 2>&1"
	[ "$status" -eq 1 ]; [[ "$output" == *"cannot write into /nonexistent/dir"* ]]
	# a truncated stream: error, the checkpoint of the finished epoch intact
	feed 2 > "$T/s.mpk"
	head -c $(( $(stat -c %s "$T/s.mpk") - 1000 )) "$T/s.mpk" > "$T/cut.mpk"
	run bash -c "'$BIN/nntrain' -q --arch small_cnn --checkpoint '$T/ck2.mpk' < '$T/cut.mpk' 2>&1 >/dev/null"
	[ "$status" -eq 1 ]; [[ "$output" == *"truncated frame"* ]]
	"$BIN/peek" --count "$T/ck2.mpk" | grep -q '^train_state 1$'
}

@test "nntrain, nninfer: bad usage exits 2 with empty stdout" {
	expect_usage_errors nntrain /dev/null "--lr abc" "--bogus"
	expect_usage_errors nninfer /dev/null "" "--model x --tta rotate"
	run bash -c "'$BIN/nninfer' --model '$T/nope.mpk' < /dev/null 2>&1"
	[ "$status" -eq 1 ]; [[ "$output" == *nope.mpk* ]]
}

@test "nntrain, nninfer: --precision tf32/fp16 need cuda, ref is fp32 only (exit 2; cpu bf16: bf16.bats)" {
	run bash -c "'$BIN/nntrain' --precision fp16 < /dev/null 2>&1"
	[ "$status" -eq 2 ]; [[ "$output" == "nntrain: --precision fp16: the cpu backend computes in fp32 or bf16 only"* ]]
	run bash -c "'$BIN/nntrain' --device ref --precision bf16 < /dev/null 2>&1"
	[ "$status" -eq 2 ]; [[ "$output" == "nntrain: --precision bf16: the ref backend computes in fp32 only"* ]]
	expect_usage_errors nntrain /dev/null "--device ref --precision fp16" "--precision fp64" \
	    "--cuda-graphs maybe"
	run bash -c "'$BIN/nninfer' --model x --precision tf32 < /dev/null 2>&1"
	[ "$status" -eq 2 ]; [[ "$output" == "nninfer: --precision tf32: the cpu backend"* ]]
}
