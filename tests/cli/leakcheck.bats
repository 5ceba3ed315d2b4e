#!/usr/bin/env bats
# leakcheck(1): the fingerprints against an independent implementation
# (tests/ref/phash_ref.py: numpy, PIL, scipy), exact, near and inverted
# duplicates within and across sets, folders and streams, the formats,
# --strict, bad input, and the EXAMPLES of its man page.

setup() {
	load ../lib/io-common
	need_numpy
	$PY -c 'import PIL, scipy' 2>/dev/null || skip "python3-pil and python3-scipy are not installed"
	cd "$T"
}

# Smooth random images (radiograph-like blobs), 8-bit gray or RGB, into DIR.
make_images() {
	$PY - "$@" <<-'END'
	import sys, numpy as np
	from PIL import Image
	out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	rng = np.random.default_rng(seed)
	y, x = np.mgrid[0:96, 0:80]
	for i in range(n):
	    v = 30.0 * y / 96
	    for k in range(4):
	        cx, cy, s, a = rng.uniform(0, 80), rng.uniform(0, 96), rng.uniform(8, 30), rng.uniform(60, 140)
	        v = v + a * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
	    v = np.clip(v + rng.normal(0, 2, v.shape), 0, 255).astype(np.uint8)
	    im = Image.fromarray(v) if i % 2 == 0 else Image.fromarray(np.stack([v] * 3, axis=2))
	    im.save("%s/img%02d.png" % (out, i))
	END
}

# Copies of src: exact (another name), resized, brighter, 16-bit, inverted.
make_variants() {
	$PY - "$@" <<-'END'
	import sys, numpy as np
	from PIL import Image, ImageOps
	src, out = sys.argv[1], sys.argv[2]
	im = Image.open(src).convert("L")
	a = np.asarray(im, float)
	open(out + "/copy.png", "wb").write(open(src, "rb").read())
	im.resize((40, 48), Image.BILINEAR).save(out + "/small.png")
	Image.fromarray(np.clip(a + 12, 0, 255).astype(np.uint8)).save(out + "/bright.png")
	ImageOps.invert(im).save(out + "/negative.png")
	END
}

@test "fingerprints equal the independent implementation's (pixels exactly, DCT hash within 2 bits)" {
	mkdir -p set
	make_images set 8 1
	cp "$ROOT/tests/cli/data/"*.png set/ 2>/dev/null || true
	"$BIN/leakcheck" -q --fingerprints -f tsv set > ours.tsv
	$PY "$ROOT/tests/ref/phash_ref.py" set/*.png > ref.txt
	$PY - <<-'END'
	ours = {}
	for line in open("ours.tsv").read().splitlines()[1:]:
	    s, i, d, h = line.split("\t")
	    ours[i] = (d, int(h, 16))
	ref = {}
	for line in open("ref.txt"):
	    h, d, p = line.split(None, 2)
	    ref[p.strip().split("/", 1)[1]] = (d, int(h, 16))
	assert ours.keys() == ref.keys() and len(ours) >= 8, (sorted(ours), sorted(ref))
	for k in ours:
	    assert ours[k][0] == ref[k][0], (k, "pixel digest")
	    dist = bin(ours[k][1] ^ ref[k][1]).count("1")
	    assert dist <= 2, (k, dist)
	END
}

@test "exact, near and inverted copies across sets; different images are not paired" {
	mkdir -p a b
	make_images a 6 2
	make_variants a/img00.png b
	"$BIN/leakcheck" -q -f tsv A=a B=b > pairs.tsv
	cat pairs.tsv
	[ "$(sed -n 1p pairs.tsv)" = "$(printf 'match\tdistance\tacross\tset_a\tid_a\tset_b\tid_b')" ]
	grep -qP '^exact\t\d+\ttrue\tA\timg00.png\tB\tcopy.png$' pairs.tsv
	grep -qP '^near\t[0-6]\ttrue\tA\timg00.png\tB\tsmall.png$' pairs.tsv
	grep -qP '^near\t[0-6]\ttrue\tA\timg00.png\tB\tbright.png$' pairs.tsv
	grep -qP '^inverted\t(5[7-9]|6[0-4])\ttrue\tA\timg00.png\tB\tnegative.png$' pairs.tsv
	# the variants pair among themselves within B; no other image of A is paired
	! grep -P '\timg0[1-5]\.png' pairs.tsv
	# comparing every pair finds the same
	"$BIN/leakcheck" -q -f tsv --exhaustive A=a B=b | cmp - pairs.tsv
	# --across-only drops the pairs within B
	"$BIN/leakcheck" -q -f tsv --across-only A=a B=b > across.tsv
	! grep -qP '\tfalse\t' across.tsv
	[ "$(grep -c true across.tsv)" -eq 4 ]
}

@test "the counts frame adds up, and --near 0 keeps only equal hashes" {
	mkdir -p a b
	make_images a 4 3
	make_variants a/img00.png b
	"$BIN/leakcheck" -q A=a B=b > f.mpk
	"$BIN/leakcheck" -q --near 0 -f tsv A=a B=b > n0.tsv
	$PY - <<-'END'
	import msgpack
	fr = list(msgpack.Unpacker(open("f.mpk", "rb"), raw=False))
	leaks, summ = fr[:-1], fr[-1]
	assert summ["kind"] == "leakcheck" and summ["sets"] == ["A", "B"] and summ["images"] == [4, 4]
	for m in ("exact", "near", "inverted"):
	    for w, across in (("within", False), ("across", True)):
	        n = sum(1 for f in leaks if f["match"] == m and f["across"] == across)
	        assert summ["%s_%s" % (m, w)] == n, (m, w)
	assert all(f["kind"] == "leak" for f in leaks)
	rows = open("n0.tsv").read().splitlines()[1:]
	assert all(r.split("\t")[0] == "exact" or r.split("\t")[1] == "0" for r in rows), rows
	END
}

@test "the tutorial's VAL holds a byte-identical pair; nothing across TRAIN, VAL and TEST" {
	need_data
	"$BIN/leakcheck" -q -f tsv TRAIN="$RADPIPE_DATA/TRAIN" VAL="$RADPIPE_DATA/VAL" TEST="$RADPIPE_DATA/TEST" > t.tsv
	cat t.tsv
	[ "$(wc -l < t.tsv)" -eq 2 ]
	grep -qP '^exact\t0\tfalse\tVAL\topenI_abd_xray/PMC2584007_1752-1947-2-335-2 \(1\)\.png\tVAL\topenI_abd_xray/PMC2584007_1752-1947-2-335-2\.png$' t.tsv
	"$BIN/leakcheck" -q --strict -f text TRAIN="$RADPIPE_DATA/TRAIN" VAL="$RADPIPE_DATA/VAL" TEST="$RADPIPE_DATA/TEST" > report.txt
	grep -q '0 across sets, 1 within a set' report.txt
}

@test "streams: sample and batch frames, several epochs counted once, stdin" {
	mkdir -p a
	make_images a 5 4
	cp a/img01.png a/dup.png
	"$BIN/imgload" -q --epochs 3 a > s.mpk
	"$BIN/leakcheck" -q -f tsv S=- < s.mpk > s.tsv
	[ "$(grep -c '^exact' s.tsv)" -eq 1 ]
	"$BIN/imgload" -q a | "$BIN/batch" 4 > b.mpk
	"$BIN/leakcheck" -q --fingerprints -f tsv B=b.mpk > b.tsv
	"$BIN/leakcheck" -q --fingerprints -f tsv F=a > f.tsv
	# a folder and its stream (imgload makes the gray images RGB) give the
	# same DCT hashes, and the RGB images the same pixel digests
	diff <(cut -f2,4 b.tsv | sort) <(cut -f2,4 f.tsv | sort)
	diff <(grep -P 'img0[13]' b.tsv | cut -f2- | sort) <(grep -P 'img0[13]' f.tsv | cut -f2- | sort)
}

@test "--strict exits 1 after the report when a pair is across sets" {
	mkdir -p a b
	make_images a 3 5
	cp a/img02.png b/
	run "$BIN/leakcheck" --strict -f text a b
	[ "$status" -eq 1 ]
	[[ "$output" == *"exact duplicates"* ]]
	[[ "$output" == *"leakcheck: 1 pair of images across sets (--strict)"* ]]
	rm b/img02.png
	make_images b 2 6
	run "$BIN/leakcheck" --strict -q -f text a b
	[ "$status" -eq 0 ]
}

@test "bad input: a missing folder, a corrupt image (--skip-bad), a truncated stream, bad usage" {
	mkdir -p a
	make_images a 3 7
	run "$BIN/leakcheck" -q nowhere
	[ "$status" -eq 1 ]
	[[ "$output" == leakcheck:*nowhere* ]]
	printf '\x89PNG\r\n\x1a\nbroken' > a/bad.png
	run "$BIN/leakcheck" -q -f tsv a
	[ "$status" -eq 1 ]
	[[ "$output" == *"a/bad.png"* ]]
	run "$BIN/leakcheck" -q --skip-bad -f tsv a
	[ "$status" -eq 0 ]
	[[ "$output" == *"a/bad.png: skipped"* ]]
	rm a/bad.png
	"$BIN/imgload" -q a > s.mpk
	head -c 500 s.mpk > cut.mpk
	run "$BIN/leakcheck" -q cut.mpk
	[ "$status" -eq 1 ]
	[[ "$output" == *"cut.mpk"* ]]
	run "$BIN/leakcheck"
	[ "$status" -eq 2 ]
	run "$BIN/leakcheck" --near 40 a
	[ "$status" -eq 2 ]
	run "$BIN/leakcheck" --format xml a
	[ "$status" -eq 2 ]
}

@test "leakcheck(1) documents every option, and its EXAMPLES run" {
	check_man leakcheck
	need_data
	run_man_examples leakcheck 3
}
