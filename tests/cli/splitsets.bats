#!/usr/bin/env bats
# splitsets(1): no group in two sets, class ratios within one image of the
# target, the same seed the same split (whatever the input order), groups
# from a regex, a table and DICOM patient keys, --link folders that imgload
# reads back, --train/--val/--test frames byte for byte, refusals, and the
# EXAMPLES of its man page.  The assignment itself is unit-tested in
# tests/unit/test_split.c.

setup() {
	load ../lib/io-common
	need_numpy
	cd "$T"
}

# Class folders a/ and b/ of tiny PNGs named P<patient>_<k>.png: patients
# with 1 to 4 images, 70 % of them in class a.
make_set() {
	$PY - "$@" <<-'END'
	import sys, os, zlib, struct, random
	root, npat, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	rnd = random.Random(seed)
	def png(path, v):
	    raw = b"".join(b"\0" + bytes([v, (v * 7) % 256, (v * 13) % 256, 200]) for _ in range(4))
	    def chunk(t, d):
	        c = struct.pack(">I", len(d)) + t + d
	        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
	    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
	            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
	    open(path, "wb").write(data)
	for p in range(npat):
	    cls = "a" if rnd.random() < 0.7 else "b"
	    os.makedirs(os.path.join(root, cls), exist_ok=True)
	    for k in range(rnd.randint(1, 4)):
	        png(os.path.join(root, cls, "P%03d_%d.png" % (p, k)), (p * 5 + k) % 256)
	END
}

# Checks a TSV assignment (id, class, group, set): every group in one set,
# and, ungrouped, each set's class counts within one image of the target.
check_tsv() {
	$PY - "$@" <<-'END'
	import sys, collections
	path, fr = sys.argv[1], [float(x) for x in sys.argv[2].split(",")]
	rows = [l.split("\t") for l in open(path).read().splitlines()[1:]]
	sets = ["train", "val", "test"][: len(fr)]
	where = collections.defaultdict(set)
	for i, c, g, s in rows:
	    if g:
	        where[g].add(s)
	bad = {g: w for g, w in where.items() if len(w) > 1}
	assert not bad, bad
	if not where:
	    n = len(rows)
	    per = collections.Counter(c for _, c, _, _ in rows)
	    for s, f in zip(sets, fr):
	        got = collections.Counter(c for _, c, _, x in rows if x == s)
	        for c, k in per.items():
	            assert abs(got[c] - k * f) < 1 + 1e-9, (s, c, got[c], k * f)
	print(len(rows), "rows;", len(where), "groups")
	END
}

@test "ungrouped: class ratios within one image of the target in every set" {
	make_set d 60 1
	"$BIN/splitsets" -q -f tsv d > a.tsv
	check_tsv a.tsv 0.7,0.15,0.15
	"$BIN/splitsets" -q -f tsv --fractions 0.5,0.5 d > b.tsv
	check_tsv b.tsv 0.5,0.5
	[ "$(cut -f4 b.tsv | sort | uniq -c | awk '{print $1}' | sort -n | tr '\n' ' ')" != "" ]
}

@test "grouped by a regex: no patient in two sets; the same seed gives the same split" {
	make_set d 80 2
	"$BIN/splitsets" -q -f tsv --group '/^[ab]\/(P[0-9]+)_/' d > g.tsv
	check_tsv g.tsv 0.7,0.15,0.15
	[ "$(cut -f3 g.tsv | sed 1d | sort -u | wc -l)" -eq 80 ]
	"$BIN/splitsets" -q -f tsv --group '/^[ab]\/(P[0-9]+)_/' d > g2.tsv
	cmp g.tsv g2.tsv
	"$BIN/splitsets" -q -f tsv --group '/^[ab]\/(P[0-9]+)_/' --seed 2 d > g3.tsv
	! cmp -s g.tsv g3.tsv
	# the input's order does not matter: the same images from a stream in
	# another order (shuffled) split the same way
	"$BIN/imgload" -q --shuffle --seed 5 d | "$BIN/splitsets" -q -f tsv --group '/^[ab]\/(P[0-9]+)_/' - > s.tsv
	diff <(sed 1d g.tsv | sort) <(sed 1d s.tsv | sort)
}

@test "grouped by a table (imgload's --labels format), keyed by id or file name" {
	make_set d 30 3
	{ echo "file,patient"; for f in d/*/*.png; do b=${f##*/}; echo "$b,${b%%_*}"; done; } > groups.csv
	"$BIN/splitsets" -q -f tsv --group table --groups groups.csv d > t.tsv
	check_tsv t.tsv 0.7,0.15,0.15
	[ "$(cut -f3 t.tsv | sed 1d | sort -u | wc -l)" -eq 30 ]
	sed -i '$d' groups.csv
	run "$BIN/splitsets" -q --group table --groups groups.csv d
	[ "$status" -eq 1 ]
	[[ "$output" == *"has no group in the table"* ]]
}

@test "grouped by DICOM patient keys in sample frames; --train/--val/--test keep the frames byte for byte" {
	$PY - <<-'END'
	import msgpack, random
	rnd = random.Random(4)
	with open("in.mpk", "wb") as f:
	    for i in range(90):
	        p, lab = i // 3, (i // 3) % 3 == 0
	        x = {"dtype": "u8", "shape": [2, 2, 1], "data": bytes([i, p, lab, 7])}
	        meta = {"dicom": {"modality": "CR", "patient_key": "%064x" % (p * 7919)}}
	        f.write(msgpack.packb({"kind": "sample", "id": "s%03d.dcm" % i, "label": int(lab),
	                               "class": ["abd", "chest"][int(lab)], "x": x, "meta": meta}))
	END
	"$BIN/splitsets" -q --group dicom --fractions 0.6,0.2,0.2 --train t.mpk --val v.mpk --test s.mpk -f tsv in.mpk > d.tsv
	check_tsv d.tsv 0.6,0.2,0.2
	$PY - <<-'END'
	import msgpack
	def frames(p): return [msgpack.packb(f) for f in msgpack.Unpacker(open(p, "rb"), raw=False)]
	inp = {msgpack.unpackb(b)["id"]: b for b in frames("in.mpk")}
	rows = [l.split("\t") for l in open("d.tsv").read().splitlines()[1:]]
	want = {"train": "t.mpk", "val": "v.mpk", "test": "s.mpk"}
	for s, path in want.items():
	    got = frames(path)
	    ids = [msgpack.unpackb(b)["id"] for b in got]
	    assert sorted(ids) == sorted(r[0] for r in rows if r[3] == s), s
	    assert all(b == inp[i] for b, i in zip(got, ids)), s
	END
}

@test "--link makes TRAIN, VAL and TEST class folders that imgload reads back" {
	make_set d 40 5
	"$BIN/splitsets" -q -f tsv --link out d > l.tsv
	for s in TRAIN VAL TEST; do
		want=$(awk -F'\t' -v s="$(echo $s | tr A-Z a-z)" '$4 == s' l.tsv | wc -l)
		got=$("$BIN/imgload" -q "out/$s" | "$BIN/peek" --count | awk '$1 == "sample" { print $2 }')
		[ "$got" -eq "$want" ]
	done
	[ -L out/TRAIN/a/"$(ls out/TRAIN/a | head -1)" ]
	run "$BIN/splitsets" -q --link out d
	[ "$status" -eq 1 ]
	[[ "$output" == *"out/TRAIN exists"* ]]
}

@test "refusals: one class, an empty set, a group larger than a set, an unmatched regex, bad usage" {
	make_set d 20 6
	mkdir -p one/x && cp d/a/*.png one/x/
	run "$BIN/splitsets" -q one
	[ "$status" -eq 1 ] && [[ "$output" == *"one class only"* ]]
	run "$BIN/splitsets" -q --fractions 0.9,0.1,0 d
	[ "$status" -eq 1 ] && [[ "$output" == *"set 3 would be empty"* ]]
	run "$BIN/splitsets" -q --group '/^(a|b)\//' d
	[ "$status" -eq 1 ] && [[ "$output" == *"holds"*"more than the smallest set"* ]]
	run "$BIN/splitsets" -q --group '/^zzz/' d
	[ "$status" -eq 1 ] && [[ "$output" == *"does not match"* ]]
	run "$BIN/splitsets" -q --counts 1,2 d
	[ "$status" -eq 1 ] && [[ "$output" == *"add up to 3 images"* ]]
	run "$BIN/splitsets" -q --group dicom d
	[ "$status" -eq 2 ]
	run "$BIN/splitsets" -q --group '/(/' d
	[ "$status" -eq 2 ]
	run "$BIN/splitsets" -q --fractions 0.5 d
	[ "$status" -eq 2 ]
	run "$BIN/splitsets" -q
	[ "$status" -eq 2 ]
	"$BIN/imgload" -q d > s.mpk
	run "$BIN/splitsets" -q --link x s.mpk
	[ "$status" -eq 2 ]
	head -c 100 s.mpk > cut.mpk
	run "$BIN/splitsets" -q cut.mpk
	[ "$status" -eq 1 ] && [[ "$output" == *cut.mpk* ]]
	"$BIN/imgload" -q --epochs 2 d > e.mpk
	run "$BIN/splitsets" -q e.mpk
	[ "$status" -eq 1 ] && [[ "$output" == *"comes twice"* ]]
}

@test "splitsets(1) documents every option, and its EXAMPLES run" {
	check_man splitsets
	need_data
	run_man_examples splitsets 3
}
