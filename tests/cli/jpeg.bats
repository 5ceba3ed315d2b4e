#!/usr/bin/env bats
# imgload(1) on JPEG files that cjpeg and jpegtran (libjpeg-turbo-progs)
# write from PGM/PPM patterns made here: gray, RGB, progressive, EXIF
# orientation (the APP1 segment written here with python), corrupt files.

setup() {
	load ../lib/io-common
	command -v cjpeg >/dev/null || skip "libjpeg-turbo-progs is not installed"
	cd "$T"
}

# pnm OUT W H C: a smooth P5 (C=1) or P6 (C=3) pattern
pnm() {
	$PY -c '
import sys
out, w, h, c = sys.argv[1], *map(int, sys.argv[2:5])
px = bytes((x * 5 + y * 6 + k * 30) % 256 for y in range(h) for x in range(w) for k in range(c))
open(out, "wb").write(b"P%d\n%d %d\n255\n" % (5 if c == 1 else 6, w, h) + px)
' "$@"
}

# exif IN OUT ORIENTATION: IN with an APP1 Exif segment (big-endian TIFF)
# holding Orientation, inserted after SOI
exif() {
	$PY -c '
import struct, sys
src, out, o = sys.argv[1], sys.argv[2], int(sys.argv[3])
tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + \
       struct.pack(">HHIHH", 0x0112, 3, 1, o, 0) + struct.pack(">I", 0)
app1 = b"Exif\x00\x00" + tiff
d = open(src, "rb").read()
open(out, "wb").write(d[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + d[2:])
' "$@"
}

# x FILE.mpk: "dtype h w c hex" of the first sample
x() {
	$PY -c '
import msgpack, sys
x = next(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))["x"]
print(x["dtype"], *x["shape"], x["data"].hex())
' "$1"
}

@test "gray and RGB JPEGs decode close to their pixels, sizes and channels kept" {
	pnm g.pgm 23 17 1
	pnm c.ppm 23 17 3
	cjpeg -quality 100 g.pgm > g.jpg
	cjpeg -quality 100 -sample 1x1 c.ppm > c.JPEG
	"$BIN/imgload" -q --channels 1 g.jpg > g.mpk
	"$BIN/imgload" -q c.JPEG > c.mpk
	read -r dt h w c hex < <(x g.mpk)
	[ "$dt $h $w $c" = "u8 17 23 1" ]
	$PY -c '
import sys
a = open("g.pgm", "rb").read()[-23 * 17:]; b = bytes.fromhex(sys.argv[1])
assert max(abs(p - q) for p, q in zip(a, b)) <= 3' "$hex"
	read -r dt h w c hex < <(x c.mpk)
	[ "$dt $h $w $c" = "u8 17 23 3" ]
	$PY -c '
import sys
a = open("c.ppm", "rb").read()[-23 * 17 * 3:]; b = bytes.fromhex(sys.argv[1])
assert max(abs(p - q) for p, q in zip(a, b)) <= 4' "$hex"
	$PY -c '
import msgpack
s = next(msgpack.Unpacker(open("c.mpk", "rb"), raw=False))["meta"]["source"]
assert s["format"] == "jpeg" and s["channels"] == 3 and s["bit_depth"] == 8, s'
}

@test "a progressive JPEG (jpegtran) gives the baseline file's pixels" {
	pnm c.ppm 40 24 3
	cjpeg -quality 90 c.ppm > base.jpg
	jpegtran -progressive base.jpg > prog.jpg
	"$BIN/imgload" -q base.jpg > base.mpk
	"$BIN/imgload" -q prog.jpg > prog.mpk
	[ "$(x base.mpk)" = "$(x prog.mpk)" ]
}

@test "EXIF orientation 1..8 is applied" {
	pnm c.ppm 7 4 3
	cjpeg -quality 95 c.ppm > plain.jpg
	"$BIN/imgload" -q plain.jpg > plain.mpk
	for o in 1 2 3 4 5 6 7 8; do
		exif plain.jpg "o$o.jpg" "$o"
		"$BIN/imgload" -q "o$o.jpg" > "o$o.mpk"
		$PY - "$o" "$(x plain.mpk)" "$(x "o$o.mpk")" <<-'END'
		import sys
		o = int(sys.argv[1])
		_, h, w, c, a = sys.argv[2].split(); _, oh, ow, _, b = sys.argv[3].split()
		h, w, oh, ow = int(h), int(w), int(oh), int(ow)
		a, b = bytes.fromhex(a), bytes.fromhex(b)
		assert (oh, ow) == ((w, h) if o >= 5 else (h, w))
		# where stored pixel (r, c) is shown
		to = {1: lambda r, c: (r, c), 2: lambda r, c: (r, w - 1 - c),
		      3: lambda r, c: (h - 1 - r, w - 1 - c), 4: lambda r, c: (h - 1 - r, c),
		      5: lambda r, c: (c, r), 6: lambda r, c: (c, h - 1 - r),
		      7: lambda r, c: (w - 1 - c, h - 1 - r), 8: lambda r, c: (w - 1 - c, r)}[o]
		for r in range(h):
		    for c in range(w):
		        R, C = to(r, c)
		        assert b[(R * ow + C) * 3:(R * ow + C) * 3 + 3] == a[(r * w + c) * 3:(r * w + c) * 3 + 3], (o, r, c)
		END
	done
	$PY -c '
import msgpack
s = next(msgpack.Unpacker(open("o6.mpk", "rb"), raw=False))["meta"]["source"]
assert s["exif_orientation"] == 6 and s["width"] == 4 and s["height"] == 7, s'
}

@test "corrupt and truncated JPEGs fail with a message; --skip-bad goes on" {
	pnm c.ppm 32 32 3
	cjpeg c.ppm > ok.jpg
	head -c 400 ok.jpg > trunc.jpg
	printf '\377\330\377\340garbage' > junk.jpg
	for f in trunc junk; do
		run_split "$BIN/imgload" -q "$f.jpg"
		[ "$status" -eq 1 ] && [ ! -s "$T/out" ]
		[[ "$err" == "imgload: $f.jpg: corrupt JPEG: "* ]] || { echo "$err"; false; }
	done
	run_split "$BIN/imgload" -q --skip-bad trunc.jpg ok.jpg
	[ "$status" -eq 0 ]
	[ "$(read_stream < "$T/out" | tail -1)" = "frames 1" ]
}

@test "folders pick up .jpg and .jpeg files in any case" {
	pnm g.pgm 8 8 1
	mkdir -p set/a set/b
	cjpeg g.pgm > set/a/x.jpg
	cjpeg g.pgm > set/b/y.JPEG
	"$BIN/imgload" -q set | read_stream > out.txt
	grep -q 'id=a/x.jpg label=0 class=a x=u8\[8,8,3\]' out.txt
	grep -q 'id=b/y.JPEG label=1 class=b x=u8\[8,8,3\]' out.txt
}
