#!/usr/bin/env bats
# peek(1): one text line per frame with tensor summaries, --count, --png
# (checked by reading the PNGs back with imgload), --pass byte for byte,
# several files, errors, bad arguments, and the EXAMPLES of its man page.

setup() {
	load ../lib/io-common
	need_numpy
	cd "$T"
}

# one line per frame: index, kind, keys in order, tensor min/max/mean
@test "a line per frame with the tensor's dtype, shape, min, max and mean" {
	mkframes samples --n 3 --epochs 1 --pattern gradient --meta '{"src": {"w": 4}}' > s.mpk
	"$BIN/peek" < s.mpk > text
	[ "$(wc -l < text)" -eq 4 ]
	[ "$(sed -n 1p text)" = "0 epoch index=0 count=1" ]
	$PY - <<-'END'
	import msgpack
	lines = open("text").read().splitlines()
	fr = list(msgpack.Unpacker(open("s.mpk", "rb"), raw=False))
	for i, f in enumerate(fr[1:], 1):
	    d = f["x"]["data"]
	    want = ('%d sample id="%s" label=%d class="%s" x=u8[8,8,3]{min %.6g max %.6g mean %.6g} '
	            'meta={src={w=4}}' % (i, f["id"], f["label"], f["class"], min(d), max(d), sum(d) / len(d)))
	    assert lines[i] == want, (lines[i], want)
	END
}

# non-tensor values: nil, bools, floats, bins, long arrays, long strings
@test "other values are shown compactly" {
	mkframes frame '{"kind": "k", "n": null, "t": true, "f": -2.5, "a": [1,2,3,4,5,6,7,8,9], "s": "0123456789"}' > f.mpk
	printf '\x82\xa4kind\xa1b\xa1b\xc4\x03abc' >> f.mpk
	run "$BIN/peek" --width 4 f.mpk
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '0 k n=nil t=true f=-2.5 a=[1,2,3,4,5,6,... 9 items] s="0123..."' ]
	[ "${lines[1]}" = '1 b b=<3 bytes>' ]
}

# --count: frames per kind in order of first appearance
@test "--count" {
	mkframes samples --n 3 --epochs 2 > s.mpk
	run "$BIN/peek" --count s.mpk
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'epoch 2\nsample 6')" ]
}

# --png writes PNGs that read back as the same pixels (u8 RGB, u16 gray,
# and a batch: one file per image)
@test "--png: valid PNGs with exactly the tensor's pixels" {
	mkframes samples --n 3 --h 5 --w 7 > s.mpk
	"$BIN/peek" --count --png shots < s.mpk > /dev/null
	[ "$(ls shots | tr '\n' ' ')" = "000000-x-0.png 000001-x-0.png 000002-x-0.png " ]
	"$BIN/imgload" -q shots > back.mpk
	mkframes samples --n 3 --h 5 --w 1 --c 1 --dtype u16 > g.mpk
	"$BIN/peek" --png gray g.mpk > /dev/null
	"$BIN/imgload" -q --depth 16 --channels 1 gray > gback.mpk
	"$BIN/batch" 3 < s.mpk | "$BIN/peek" --png batch > /dev/null
	[ "$(ls batch | tr '\n' ' ')" = "000000-x-0.png 000000-x-1.png 000000-x-2.png " ]
	"$BIN/imgload" -q batch > bback.mpk
	$PY - <<-'END'
	import msgpack
	rd = lambda n: list(msgpack.Unpacker(open(n, "rb"), raw=False))
	s, back, bback = rd("s.mpk"), rd("back.mpk"), rd("bback.mpk")
	for a, b, c in zip(s, back, bback):
	    assert a["x"] == b["x"] == c["x"]
	for a, b in zip(rd("g.mpk"), rd("gback.mpk")):
	    assert a["x"] == b["x"], (a["x"]["shape"], b["x"]["shape"])
	END
}

# --pass: stdout is the input, byte for byte; the text goes to stderr
@test "--pass is byte-identical and prints on stderr" {
	mkframes samples --n 4 --epochs 2 --h 300 --w 300 > s.mpk
	mkframes frame '{"kind": "odd", "k": [1, {"x": null}]}' >> s.mpk
	"$BIN/peek" --pass < s.mpk > out.mpk 2> text
	cmp s.mpk out.mpk
	[ "$(wc -l < text)" -eq 11 ]
	[ "$(tail -1 text)" = "10 odd k=[1,{x=nil}]" ]
	"$BIN/peek" --pass --count < s.mpk 2> counts | cmp - s.mpk
	[ "$(cat counts)" = "$(printf 'epoch 2\nsample 8\nodd 1')" ]
}

# several files and - : indexes count on across them
@test "several files and -" {
	mkframes samples --n 2 > a.mpk
	mkframes frame '{"kind": "z"}' > b.mpk
	run "$BIN/peek" --count a.mpk - a.mpk < b.mpk
	[ "$output" = "$(printf 'sample 4\nz 1')" ]
	run "$BIN/peek" a.mpk - < b.mpk
	[[ "${lines[2]}" == "2 z" ]]
}

# broken input: the good frames are shown, then exit 1 with the reason
@test "truncated input and missing files: exit 1" {
	mkframes samples --n 3 > s.mpk
	head -c -1 s.mpk > t.mpk
	run_split "$BIN/peek" t.mpk
	[ "$status" -eq 1 ]
	[ "$(wc -l < out)" -eq 2 ]
	[[ "$err" == *"t.mpk: frame 2: truncated frame"* ]]
	run_split "$BIN/peek" nofile.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"nofile.mpk: No such file or directory"* ]]
}

# bad options: exit 2, nothing on stdout
@test "bad arguments: exit 2 and empty stdout" {
	mkframes samples --n 1 > s.mpk
	expect_usage_errors peek s.mpk "--bogus s.mpk" "--width 2 s.mpk" "--width x s.mpk" \
	    "--width 100001 s.mpk" "s.mpk --width" "--png"
}

# the page is lint-clean and names every option
@test "peek(1) documents every option and passes mandoc -Tlint" {
	check_man peek
}

# the EXAMPLES of peek(1) run on the data as written
@test "peek(1) EXAMPLES run" {
	need_data
	run_man_examples peek 4
	[ "$(cat ex.out)" = "sample 20" ]
	[ "$(ls shots | wc -l)" -eq 10 ]
	[ "$(wc -l < frames.txt)" -eq 65 ]
}
