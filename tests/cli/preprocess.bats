#!/usr/bin/env bats
# Per-channel preprocessing (ResNet50's caffe, DenseNet121's torch) through
# nntrain and nninfer: stored in the model by name, applied by nninfer, and
# refused cleanly where it cannot apply.

setup() {
	load ../lib/io-common
	load ../lib/smallcnn	# feed, train; skips without the data set
}

@test "preprocess: caffe and torch are stored in the model and applied by nninfer" {
	for p in caffe torch; do
		train 1 --preprocess "$p" --save "$T/$p.mpk" > /dev/null
		run $PY -c '
import msgpack, sys
f = next(iter(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False)))
assert f["preprocess"] == sys.argv[2], f' "$T/$p.mpk" "$p"
		[ "$status" -eq 0 ]
		"$BIN/imgload" -q --size 32 "$D/TEST" | "$BIN/nninfer" --model "$T/$p.mpk" > "$T/p.mpk"
		run $PY -c '
import msgpack, sys
p = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
assert len(p) == 2 and all(0 <= f["score"] <= 1 for f in p), p' "$T/p.mpk"
		[ "$status" -eq 0 ]
	done
}

@test "preprocess: caffe on one-channel input fails cleanly, an unknown name is bad usage" {
	run bash -c '"$1/imgload" -q --size 32 --channels 1 "$2/TRAIN" | "$1/batch" 5 |
		timeout 120 "$1/nntrain" -q --arch small_cnn --preprocess caffe > "$3/out"' _ "$BIN" "$D" "$T"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nntrain: "*"preprocessing caffe"*"3"* ]]
	[ ! -s "$T/out" ]
	run "$BIN/nntrain" --arch small_cnn --preprocess imagenet
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown 'imagenet'"* ]]
}

@test "preprocess: nninfer applies what the model file names, set once by the loader" {
	# the same parameters under each name the file may give: the scores follow
	# the name (nninfer sets nothing itself), and the file's own name gives
	# the same bytes as the file
	train 1 --preprocess torch --save "$T/torch.mpk" > /dev/null
	"$BIN/imgload" -q --size 32 "$D/TEST" > "$T/test.mpk"
	for p in torch caffe rescale; do
		$PY -c '
import msgpack, sys
fr = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
fr[0]["preprocess"] = sys.argv[3]
open(sys.argv[2], "wb").write(b"".join(msgpack.packb(f, use_bin_type=True) for f in fr))' \
			"$T/torch.mpk" "$T/$p-re.mpk" "$p"
		"$BIN/nninfer" --model "$T/$p-re.mpk" < "$T/test.mpk" > "$T/$p.pred"
	done
	"$BIN/nninfer" --model "$T/torch.mpk" < "$T/test.mpk" > "$T/orig.pred"
	cmp "$T/orig.pred" "$T/torch.pred"
	! cmp -s "$T/torch.pred" "$T/caffe.pred"
	! cmp -s "$T/torch.pred" "$T/rescale.pred"
}
