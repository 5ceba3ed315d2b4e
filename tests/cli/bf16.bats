#!/usr/bin/env bats
# --precision bf16 on the cpu backend (issue 19): refused with a clear
# message (exit 1) where the CPU has neither AVX512_BF16 nor AMX, and where
# it runs, predictions and training within stated tolerances of fp32.
# The parity tests skip, saying why, on CPUs without bf16.

setup() {
	load ../lib/io-common
	load ../lib/smallcnn	# feed, train, history; skips without the data set
}

# Skips unless the cpu backend opens in bf16 here.
need_cpu_bf16() {
	feed 1 > "$T/one.mpk"
	run bash -c "'$BIN/nntrain' -q --arch small_cnn --precision bf16 < '$T/one.mpk' 2>&1 >/dev/null"
	[[ "$output" != *"needs a CPU with AVX512_BF16 or AMX"* ]] ||
		skip "this CPU has no bf16 kernels for oneDNN: $output"
}

# The largest |a - b| of the scores of two prediction streams (same ids,
# same order), and the same for the logits log(s / (1 - s)).
score_diff() {
	$PY -c '
import math, msgpack, sys
a = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
b = list(msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False))
assert len(a) == len(b) > 0 and [f["id"] for f in a] == [f["id"] for f in b]
lg = lambda s: math.log(s / (1 - s))
print("%.6f %.6f" % (max(abs(x["score"] - y["score"]) for x, y in zip(a, b)),
                     max(abs(lg(x["score"]) - lg(y["score"])) for x, y in zip(a, b))))' "$1" "$2"
}

@test "bf16: refused with one line and exit 1 where the CPU lacks bf16 (RADPIPE_CPU_NO_BF16 plays such a CPU)" {
	feed 1 > "$T/s.mpk"
	run_split env RADPIPE_CPU_NO_BF16=1 "$BIN/nntrain" -q --arch small_cnn --precision bf16 < "$T/s.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[[ "$err" == "nntrain: cpu backend: precision bf16 needs a CPU with AVX512_BF16 or AMX"* ]]
	[ "$(wc -l < "$T/err")" -eq 1 ]
	"$BIN/imgload" -q --size 32 "$D/TEST" > "$T/t.mpk"
	train 1 --save "$T/m.mpk" > /dev/null
	run_split env RADPIPE_CPU_NO_BF16=1 "$BIN/nninfer" --model "$T/m.mpk" --precision bf16 < "$T/t.mpk"
	[ "$status" -eq 1 ]; [ ! -s "$T/out" ]
	[[ "$err" == "nninfer: cpu backend: precision bf16 needs a CPU with AVX512_BF16"* ]]
	# tf32 and fp16 stay cuda's; ref is fp32 only (usage errors)
	expect_usage_errors nntrain /dev/null "--precision tf32" "--precision fp16" \
	    "--device ref --precision bf16"
}

# Tolerances: bf16 keeps 8 significant bits (relative rounding 2^-9 of each
# operand), sums stay fp32; a small CNN's scores move by ~1e-3 (measured
# 4.5e-4, logits 2e-3), its per-epoch losses over 4 epochs by < 1 % (measured
# 0.4e-2 relative at most).
@test "bf16: small_cnn, nninfer of an fp32 model: scores within 0.01 of fp32, logits within 0.05" {
	need_cpu_bf16
	train 2 --save "$T/m.mpk" > /dev/null
	"$BIN/nninfer" --model "$T/m.mpk" < "$T/val.mpk" > "$T/p32.mpk"
	"$BIN/nninfer" --model "$T/m.mpk" --precision bf16 < "$T/val.mpk" > "$T/p16.mpk"
	read -r ds dl < <(score_diff "$T/p32.mpk" "$T/p16.mpk")
	echo "max |score diff| $ds, max |logit diff| $dl"
	awk -v s="$ds" -v l="$dl" 'BEGIN { exit !(s > 0 && s <= 0.01 && l <= 0.05) }'
}

@test "bf16: small_cnn trained 4 epochs in bf16: losses within 3 % of fp32's, same accuracies but for one image" {
	need_cpu_bf16
	train 4 > "$T/h32.mpk"
	train 4 --precision bf16 > "$T/h16.mpk"
	run $PY -c '
import msgpack, sys
a = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
b = list(msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False))
assert len(a) == len(b) == 4
for x, y in zip(a, b):
    for k in ("loss", "val_loss"):
        assert abs(x[k] - y[k]) <= 0.03 * abs(x[k]), (k, x[k], y[k])
    assert abs(x["acc"] - y["acc"]) <= 1 / 65 + 1e-9, (x["acc"], y["acc"])
    assert abs(x["val_acc"] - y["val_acc"]) <= 1 / 10 + 1e-9, (x["val_acc"], y["val_acc"])
assert any(x["loss"] != y["loss"] for x, y in zip(a, b)), "bf16 changed nothing"
print([(x["loss"], y["loss"]) for x, y in zip(a, b)])' "$T/h32.mpk" "$T/h16.mpk"
	echo "$output"
	[ "$status" -eq 0 ]
}

# InceptionV3 (ImageNet weights, the paper's head with seed 1) on the
# tutorial's VAL and TEST at 299x299: 94 convolutions in a row, so bf16
# moves the logits more (measured 0.028); scores within 0.02, logits 0.1,
# the predicted class the same wherever the fp32 score is 0.02 or more from
# the threshold.
@test "bf16: inception_v3 on VAL and TEST (ImageNet weights): scores within 0.02 of fp32, logits within 0.1" {
	need_cpu_bf16
	need_weights inception_v3_imagenet_notop.h5
	"$BIN/nnimport" -q --preprocess inception -o "$T/inc.mpk" \
	    "$(weights_file inception_v3_imagenet_notop.h5)"
	"$BIN/imgload" -q --size 299 "$D/VAL" "$D/TEST" > "$T/vt.mpk"
	"$BIN/nninfer" --model "$T/inc.mpk" < "$T/vt.mpk" > "$T/p32.mpk"
	"$BIN/nninfer" --model "$T/inc.mpk" --precision bf16 < "$T/vt.mpk" > "$T/p16.mpk"
	read -r ds dl < <(score_diff "$T/p32.mpk" "$T/p16.mpk")
	echo "max |score diff| $ds, max |logit diff| $dl"
	awk -v s="$ds" -v l="$dl" 'BEGIN { exit !(s > 0 && s <= 0.02 && l <= 0.1) }'
	run $PY -c '
import msgpack, sys
a = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
b = list(msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False))
assert len(a) == 12
for x, y in zip(a, b):
    if abs(x["score"] - 0.5) >= 0.02:
        assert x["pred"] == y["pred"], (x, y)' "$T/p32.mpk" "$T/p16.mpk"
	[ "$status" -eq 0 ]
}
