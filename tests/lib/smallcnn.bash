# smallcnn.bash — the small CNN on the tutorial's images at 32x32, shared by
# nntrain.bats and nntrain_robust.bats.  Load it from setup() after
# io-common; it skips without the data set and writes $T/val.mpk.
#   feed EPOCHS             the shuffled, batched training stream
#   train EPOCHS [opts...]  nntrain on it, history on stdout
#   history FILE            the history without timing keys, a JSON line an epoch
# shellcheck disable=SC2034,SC2154  # D for the .bats files; T, BIN, PY from io-common

need_data
D="$RADPIPE_DATA"
"$BIN/imgload" -q --size 32 "$D/VAL" > "$T/val.mpk"

feed() {
	"$BIN/imgload" -q --size 32 --epochs "$1" --shuffle --seed 1 "$D/TRAIN" | "$BIN/batch" 5
}

train() {
	local e=$1; shift
	feed "$e" | "$BIN/nntrain" -q --arch small_cnn --lr 1e-3 --seed 3 --val "$T/val.mpk" "$@"
}

history() {
	$PY -c '
import msgpack, sys, json
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    for k in ("seconds", "images_per_s", "peak_rss_mb"): f.pop(k, None)
    print(json.dumps(f, sort_keys=True))' "$1"
}
