#!/usr/bin/env bats
# ResNet50, DenseNet121 and MobileNetV2 in the pipeline (issue 20): each
# trains one epoch on the tutorial's images at 32x32 and saves a model
# that records its architecture and its own preprocessing; nninfer reads
# it back and scores VAL with the loss nntrain reported for VAL.

setup() {
	load ../lib/io-common
	need_data
	D="$RADPIPE_DATA"
	"$BIN/imgload" -q --size 32 "$D/VAL" > "$T/val.mpk"
}

# train ARCH [opts...]: one epoch, model in $T/ARCH.mpk, history in $T/ARCH.h
train_arch() {
	local a=$1; shift
	"$BIN/imgload" -q --size 32 --shuffle --seed 1 "$D/TRAIN" | "$BIN/batch" 5 |
		timeout 600 "$BIN/nntrain" -q --arch "$a" --head 16,0 --lr 1e-3 --seed 2 \
			--val "$T/val.mpk" --save "$T/$a.mpk" "$@" > "$T/$a.h"
}

# check ARCH PREPROCESS: the model frame says ARCH and PREPROCESS; nninfer's
# VAL loss (binary cross-entropy of its scores) is nntrain's val_loss
check_arch() {
	local a=$1 pre=$2
	"$BIN/nninfer" --model "$T/$a.mpk" < "$T/val.mpk" > "$T/$a.p"
	run $PY -c '
import math, msgpack, sys
model = next(f for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False) if f["kind"] == "model")
assert model["arch"] == sys.argv[4] and model["preprocess"] == sys.argv[5], (model["arch"], model["preprocess"])
hist = [f for f in msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False) if f["kind"] == "metrics"]
assert len(hist) == 1 and math.isfinite(hist[0]["loss"]), hist
p = [f for f in msgpack.Unpacker(open(sys.argv[3], "rb"), raw=False) if f["kind"] == "prediction"]
assert len(p) == 10, len(p)
eps = 1e-7
loss = -sum(math.log(min(max(f["score"] if f["label"] == 1 else 1 - f["score"], eps), 1 - eps)) for f in p) / len(p)
assert abs(loss - hist[0]["val_loss"]) <= 1e-4 * max(1, loss), (loss, hist[0]["val_loss"])
print(sys.argv[4], "val_loss", hist[0]["val_loss"], "nninfer", loss)' "$T/$a.mpk" "$T/$a.h" "$T/$a.p" "$a" "$pre"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "models: resnet50 trains at 32x32 (caffe preprocessing) and nninfer reads it back" {
	[ -z "${RADPIPE_SAN:-}" ] || skip "under the sanitizers mobilenet_v2 alone trains (the new ops and loading by name; CI time)"
	train_arch resnet50
	check_arch resnet50 caffe
}

@test "models: densenet121 trains at 32x32 (torch preprocessing) and nninfer reads it back" {
	[ -z "${RADPIPE_SAN:-}" ] || skip "under the sanitizers mobilenet_v2 alone trains (the new ops and loading by name; CI time)"
	train_arch densenet121
	check_arch densenet121 torch
}

@test "models: mobilenet_v2 from a Keras-written h5 (loaded by name), tf preprocessing" {
	train_arch mobilenet_v2 --weights "$ROOT/tests/ref/keras_mobilenet_v2_weights.h5"
	check_arch mobilenet_v2 tf
}

@test "models: --preprocess overrides the arch's own; small or gray input is refused clearly" {
	train_arch mobilenet_v2 --preprocess rescale
	check_arch mobilenet_v2 rescale
	run "$BIN/nntrain" --arch resnet50 < <("$BIN/imgload" -q --size 16 "$D/VAL" | "$BIN/batch" 5)
	[ "$status" -eq 1 ] && [[ "$output" == *"cannot build --arch resnet50 for 16x16x3"* ]]
	run "$BIN/nntrain" --arch densenet121 < <("$BIN/imgload" -q --size 32 --channels 1 "$D/VAL" | "$BIN/batch" 5)
	[ "$status" -eq 1 ] && [[ "$output" == *"cannot build --arch densenet121 for 32x32x1"* ]]
	run "$BIN/nntrain" --arch resnet --save "$T/x.mpk" < /dev/null
	[ "$status" -eq 2 ] && [[ "$output" == *"unknown 'resnet'"* ]]
}
