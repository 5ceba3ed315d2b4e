#!/usr/bin/env bats
# batch(1): batch sizes, partial batches at epoch frames and at the end,
# --drop-last, the contents of a batch, pass-through of other frames byte
# for byte, errors, bad arguments, and the EXAMPLES of its man page.

setup() {
	load ../lib/io-common
	need_numpy
	cd "$T"
}

# kinds of the frames of a stream, with the batch size after each batch
shape_of() {
	$PY -c '
import msgpack, sys
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False, strict_map_key=False):
    print(f["kind"] + (":%d" % len(f["ids"]) if f["kind"] == "batch" else ""), end=" ")
print()'
}

# 10 samples in batches of 4: 4, 4 and the rest (2) at the end
@test "batch 4 of 10 samples: 4 4 2" {
	mkframes samples --n 10 > s.mpk
	"$BIN/batch" 4 < s.mpk | shape_of > got
	[ "$(cat got)" = "batch:4 batch:4 batch:2 " ]
	"$BIN/batch" 1 < s.mpk | shape_of > got
	[ "$(cat got)" = "$(printf 'batch:1 %.0s' $(seq 10))" ]
	"$BIN/batch" 10 < s.mpk | shape_of > got
	[ "$(cat got)" = "batch:10 " ]
	"$BIN/batch" 11 < s.mpk | shape_of > got
	[ "$(cat got)" = "batch:10 " ]
}

# a batch holds its samples' ids, labels, classes, metas and pixels in order
@test "batch contents: ids, labels, classes, metas and x stacked exactly" {
	mkframes samples --n 5 --h 3 --w 2 --c 3 --dtype u16 --meta '{"m": 1}' > s.mpk
	"$BIN/batch" 3 < s.mpk > b.mpk
	$PY - "$ROOT/tests/lib" <<-'END'
	import sys
	sys.path.insert(0, sys.argv[1])
	import mkframes, numpy as np
	s = list(mkframes.read_frames(open("s.mpk", "rb")))
	b = list(mkframes.read_frames(open("b.mpk", "rb")))
	assert [f["kind"] for f in b] == ["batch", "batch"]
	for f, part in zip(b, (s[:3], s[3:])):
	    assert set(f) == {"kind", "ids", "labels", "classes", "x", "metas"}, set(f)
	    assert f["ids"] == [p["id"] for p in part]
	    assert f["labels"] == [p["label"] for p in part]
	    assert f["classes"] == [p["class"] for p in part]
	    assert f["metas"] == [{"m": 1}] * len(part)
	    x = mkframes.array(f["x"])
	    assert f["x"]["dtype"] == "u16" and list(x.shape) == [len(part), 3, 2, 3]
	    assert (x == np.stack([mkframes.array(p["x"]) for p in part])).all()
	END
}

# a partial batch is flushed before each epoch frame and at the end
@test "partial batches at epoch frames and the end; --drop-last" {
	mkframes samples --n 5 --epochs 2 > s.mpk
	"$BIN/batch" 2 < s.mpk | shape_of > got
	[ "$(cat got)" = "epoch batch:2 batch:2 batch:1 epoch batch:2 batch:2 batch:1 " ]
	"$BIN/batch" --drop-last 2 < s.mpk | shape_of > got
	[ "$(cat got)" = "epoch batch:2 batch:2 epoch batch:2 batch:2 " ]
	"$BIN/batch" --drop-last 5 < s.mpk | shape_of > got
	[ "$(cat got)" = "epoch batch:5 epoch batch:5 " ]
	"$BIN/batch" --drop-last 6 < s.mpk | shape_of > got
	[ "$(cat got)" = "epoch epoch " ]
}

# samples without label, class or meta: label -1, empty class, nil meta
@test "missing label, class and meta" {
	mkframes frame '{"kind": "sample", "id": "a", "x": {"dtype": "u8", "shape": [1], "data": "x"}}' > s.mpk
	$PY -c '
import msgpack
f = msgpack.unpackb(open("s.mpk", "rb").read(), raw=False)
f["x"]["data"] = b"\x07"
open("s.mpk", "wb").write(msgpack.packb(f, use_bin_type=True))'
	"$BIN/batch" 2 < s.mpk > b.mpk
	$PY -c '
import msgpack
f = msgpack.unpackb(open("b.mpk", "rb").read(), raw=False)
assert f["labels"] == [-1] and f["classes"] == [""] and f["metas"] == [None], f
assert f["x"] == {"dtype": "u8", "shape": [1, 1], "data": b"\x07"}, f["x"]'
}

# frames of other kinds come out unchanged, byte for byte, in their order
@test "unknown frames pass through byte-identical and in order" {
	for k in a b c; do
		mkframes frame "{\"kind\": \"note-$k\", \"zz\": [1, 2.5, null, {\"deep\": \"$k\"}], \"kind2\": 3}" > $k.mpk
	done
	mkframes samples --n 3 --prefix p > s.mpk
	$PY - <<-'END'
	import msgpack
	def frames(name):
	    data = open(name, "rb").read()
	    u = msgpack.Unpacker(raw=False, strict_map_key=False); u.feed(data)
	    out, start = [], 0
	    for f in u:
	        out.append(data[start:u.tell()]); start = u.tell()
	    return out
	s = frames("s.mpk")
	open("in.mpk", "wb").write(open("a.mpk", "rb").read() + s[0] + open("b.mpk", "rb").read()
	                           + s[1] + s[2] + open("c.mpk", "rb").read())
	END
	"$BIN/batch" 2 < in.mpk > out.mpk
	shape_of < out.mpk > got
	[ "$(cat got)" = "note-a note-b batch:2 note-c batch:1 " ]
	$PY - <<-'END'
	import msgpack
	data = open("out.mpk", "rb").read()
	u = msgpack.Unpacker(raw=False, strict_map_key=False); u.feed(data)
	raw, start = [], 0
	for f in u:
	    raw.append(data[start:u.tell()]); start = u.tell()
	notes = [r for r in raw if b"note-" in r]
	assert notes == [open(n, "rb").read() for n in ("a.mpk", "b.mpk", "c.mpk")]
	END
	# a stream with no samples, large frames included, is copied exactly
	mkframes samples --n 2 --h 512 --w 512 > big.mpk
	$PY -c '
import msgpack, sys
out = open("nos.mpk", "wb")
for f in msgpack.Unpacker(open("big.mpk", "rb"), raw=False):
    f["kind"] = "image"
    out.write(msgpack.packb(f, use_bin_type=True))'
	cat a.mpk nos.mpk b.mpk nos.mpk > nos2.mpk
	"$BIN/batch" 3 < nos2.mpk | cmp - nos2.mpk
}

# samples of different shapes or dtypes cannot be batched: a clear error
@test "mixed shapes: exit 1 with a message naming the sample" {
	mkframes samples --n 2 --h 8 > a.mpk
	mkframes samples --n 1 --h 9 --prefix odd > b.mpk
	cat a.mpk b.mpk > in.mpk
	run_split "$BIN/batch" 4 < in.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"sample odd/000.png: x is u8[9,8,3] but the batch holds u8[8,8,3]"* ]]
	mkframes samples --n 1 --dtype u16 --prefix wide > c.mpk
	cat a.mpk c.mpk > in2.mpk
	run_split "$BIN/batch" 4 < in2.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"x is u16[8,8,3] but the batch holds u8[8,8,3]"* ]]
}

# labels are class indices: never truncated to 32 bits or made -1 (issue 14.5)
@test "labels out of range: exit 1 naming the sample and the label" {
	# sample LABEL: one 1-pixel sample frame with that label
	sample() { $PY -c '
import msgpack, sys
sys.stdout.buffer.write(msgpack.packb({"kind": "sample", "id": "bad" + sys.argv[1],
    "label": int(sys.argv[1]), "x": {"dtype": "u8", "shape": [1], "data": b"x"}}, use_bin_type=True))' "$1"; }
	for lab in 4294967297 -7 -1 2147483648; do
		sample "$lab" > s.mpk
		run_split "$BIN/batch" 2 < s.mpk
		[ "$status" -eq 1 ]
		[ ! -s "$T/out" ]
		[[ "$err" == *"batch: sample bad$lab: label $lab is not a class index (0 to 2147483647)"* ]]
	done
	# the largest index goes through exactly
	sample 2147483647 | "$BIN/batch" 2 | $PY -c '
import msgpack, sys
f = msgpack.unpackb(sys.stdin.buffer.read(), raw=False)
assert f["labels"] == [2147483647], f["labels"]'
}

# broken input: exit 1 naming the frame
@test "truncated or malformed input: exit 1" {
	mkframes samples --n 3 > s.mpk
	head -c -10 s.mpk > t.mpk
	run_split "$BIN/batch" 2 < t.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"stdin: frame 2: truncated frame"* ]]
	printf '\x81\xa4kind\xa6sample' > nox.mpk
	run_split "$BIN/batch" 2 < nox.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"no tensor 'x'"* ]]
	printf 'hello' > junk.mpk
	run_split "$BIN/batch" 2 < junk.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"not a radpipe frame"* ]]
	mkframes samples --n 1 > s1.mpk
	RADPIPE_MAX_FRAME=100 run_split "$BIN/batch" 2 < s1.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"size limit of 100 bytes"* ]]
}

# the samples --drop-last drops at an epoch frame leave nothing behind: each
# batch's metas are those of its own samples (a regression: the frame
# builder that collects the metas kept the dropped ones)
@test "--drop-last: a dropped partial batch leaves no metas behind" {
	need_numpy
	for e in 0 1; do
		echo '{"kind": "epoch", "index": '$e', "count": 2}'
		for i in 0 1 2; do
			echo '{"kind": "sample", "id": "s'$e$i'", "label": 0, "meta": {"src": "s'$e$i'"},
			       "x": {"$tensor": {"dtype": "u8", "shape": [2, 2, 1], "fill": '$i'}}}' | tr -d '\n\t'
			echo
		done
	done | mkframes pack > s.mpk
	"$BIN/batch" --drop-last 2 < s.mpk > b.mpk
	$PY -c '
import msgpack, sys
n = 0
for f in msgpack.Unpacker(open("b.mpk", "rb"), raw=False):
    if f["kind"] != "batch":
        continue
    n += 1
    srcs = [m["src"] for m in f["metas"]]
    if srcs != f["ids"]:
        sys.exit("batch %d: ids %s but metas of %s" % (n, f["ids"], srcs))
sys.exit(0 if n == 2 else "%d batches, not 2" % n)'
}

# an empty input gives an empty output
@test "empty input: empty output, exit 0" {
	run_split "$BIN/batch" 5 < /dev/null
	[ "$status" -eq 0 ]
	[ ! -s out ]
}

# bad N and unknown options: exit 2, nothing on stdout
@test "bad arguments: exit 2 and empty stdout" {
	mkframes samples --n 2 > s.mpk
	expect_usage_errors batch s.mpk "" "0" "-1" "abc" "2.5" "1 2" "--bogus 2" "--drop-last" "1048577"
}

# the page is lint-clean and names every option
@test "batch(1) documents every option and passes mandoc -Tlint" {
	check_man batch
}

# the EXAMPLES of batch(1) run on the data as written
@test "batch(1) EXAMPLES run" {
	need_data
	run_man_examples batch 3
	[ "$(cat ex.out)" = "batch 5" ]
}
