#!/usr/bin/env bats
# The slow end-to-end check of issue 6: InceptionV3 from the shared ImageNet
# weights, fine-tuned for 2 epochs on the tutorial's 65 training images,
# must reach validation accuracy >= 0.9 and classify both TEST images.
# About 1 minute on 2 cores (BN frozen, inception preprocessing).

setup() {
	load ../lib/io-common
	need_data
	need_weights inception_v3_imagenet_notop.h5
	W=$(weights_file inception_v3_imagenet_notop.h5)
	D="$RADPIPE_DATA"
}

@test "inception_v3: 2 epochs of fine-tuning reach val_acc >= 0.9 and get TEST right" {
	"$BIN/imgload" -q --size 299 "$D/VAL" > "$T/val.mpk"
	"$BIN/imgload" -q --size 299 --epochs 2 --shuffle --seed 1 "$D/TRAIN" |
		"$BIN/augment" -q --seed 1 --rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip |
		"$BIN/batch" 5 |
		"$BIN/nntrain" -q --weights "$W" --preprocess inception --bn-frozen \
			--val "$T/val.mpk" --save "$T/m.mpk" > "$T/h.mpk"
	"$BIN/imgload" -q --size 299 "$D/TEST" | "$BIN/nninfer" --model "$T/m.mpk" > "$T/p.mpk"
	run $PY -c '
import msgpack, sys
h = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
p = {f["id"]: f for f in msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False)}
print(h[-1], p)
assert len(h) == 2 and h[-1]["val_acc"] >= 0.9, h[-1]
assert p["chest2.png"]["pred_class"] == "openI_CXR" and p["chest2.png"]["score"] < 0.5
assert p["abd2.png"]["pred_class"] == "openI_abd_xray" and p["abd2.png"]["score"] > 0.5' "$T/h.mpk" "$T/p.mpk"
	[ "$status" -eq 0 ]
}
