#!/usr/bin/env bats
# imgload(1) as a user runs it: the Open-I folders (when $RADPIPE_DATA is
# set), small folders of PNGs made here, broken files, bad arguments, and
# the EXAMPLES of its man page.

setup() {
	load ../lib/io-common
	cd "$T"
}

# a folder of class folders: b/ (3 images, 2 of them in a sub-folder) and
# a/ (2 images), of different sizes and colour types
mkset() {
	mkdir -p set/b/sub set/a
	mkpng set/b/x1.png 5 4 --channels 3 --seed 1
	mkpng set/b/sub/x2.png 7 3 --seed 2
	mkpng set/b/sub/x3.png 4 4 --channels 4 --seed 3
	mkpng set/a/y1.png 6 6 --depth 16 --seed 4
	mkpng set/a/y2.png 3 5 --seed 5
	echo 'not an image' > set/a/notes.txt
}

# --- the Open-I data ---------------------------------------------------

# TRAIN: 65 samples, labels by sorted class folder, all 299x299x3 u8
@test "TRAIN gives 65 samples: openI_CXR = 0, openI_abd_xray = 1, u8[299,299,3]" {
	need_data
	"$BIN/imgload" -q --size 299 "$RADPIPE_DATA/TRAIN" | read_stream > out.txt
	[ "$(tail -1 out.txt)" = "frames 65" ]
	[ "$(grep -c ' sample ' out.txt)" -eq 65 ]
	[ "$(grep -c 'label=0 class=openI_CXR x=u8\[299,299,3\]' out.txt)" -eq 33 ]
	[ "$(grep -c 'label=1 class=openI_abd_xray x=u8\[299,299,3\]' out.txt)" -eq 32 ]
	# ids are the paths below TRAIN, in sorted order within each class
	grep -o 'id=[^ ]*' out.txt | sed 's/^id=//' > ids.txt
	(cd "$RADPIPE_DATA/TRAIN" && find . -name '*.png' | sed 's|^\./||' | LC_ALL=C sort) > want.txt
	diff ids.txt want.txt
}

# VAL: 10 samples, and its duplicate file shows as two equal sha256 in meta
@test "VAL gives 10 samples and the duplicate image shares its sha256" {
	need_data
	"$BIN/imgload" -q --size 299 "$RADPIPE_DATA/VAL" > val.mpk
	[ "$(read_stream < val.mpk | tail -1)" = "frames 10" ]
	$PY -c '
import msgpack, sys, hashlib, os
fr = list(msgpack.Unpacker(open("val.mpk", "rb"), raw=False))
sums = [f["meta"]["sha256"] for f in fr]
for f in fr:
    data = open(os.path.join(sys.argv[1], f["id"]), "rb").read()
    assert f["meta"]["sha256"] == hashlib.sha256(data).hexdigest(), f["id"]
assert len(set(sums)) == 9, sums
' "$RADPIPE_DATA/VAL"
}

# TEST holds two loose files: no label, no class
@test "a flat folder gives unlabelled samples" {
	need_data
	"$BIN/imgload" -q --size 299 "$RADPIPE_DATA/TEST" | read_stream > out.txt
	[ "$(tail -1 out.txt)" = "frames 2" ]
	! grep -q 'label=' out.txt
	grep -q '^0 sample id=abd2.png x=u8\[299,299,3\]' out.txt
}

# the same seed gives the same order; each epoch has its own order
@test "--epochs --shuffle --seed: reproducible, different per epoch" {
	need_data
	"$BIN/imgload" -q --size 32 --epochs 3 --shuffle --seed 7 "$RADPIPE_DATA/TRAIN" > a.mpk
	"$BIN/imgload" -q --size 32 --epochs 3 --shuffle --seed 7 "$RADPIPE_DATA/TRAIN" > b.mpk
	"$BIN/imgload" -q --size 32 --epochs 3 --shuffle --seed 8 "$RADPIPE_DATA/TRAIN" > c.mpk
	cmp a.mpk b.mpk
	! cmp -s a.mpk c.mpk
	read_stream < a.mpk > a.txt
	[ "$(grep -c ' epoch$' a.txt)" -eq 3 ]
	[ "$(tail -1 a.txt)" = "frames 198" ]
	# each epoch is a permutation of the 65 ids, in a different order
	awk '/ epoch$/ { e++ } / sample / { print e, $3 }' a.txt > order.txt
	for e in 1 2 3; do
		[ "$(awk -v e=$e '$1 == e { print $2 }' order.txt | sort -u | wc -l)" -eq 65 ]
	done
	! diff <(awk '$1 == 1 { print $2 }' order.txt) <(awk '$1 == 2 { print $2 }' order.txt)
	! diff <(awk '$1 == 2 { print $2 }' order.txt) <(awk '$1 == 3 { print $2 }' order.txt)
	# epoch frames say which epoch of how many
	$PY -c '
import msgpack
e = [f for f in msgpack.Unpacker(open("a.mpk", "rb"), raw=False) if f["kind"] == "epoch"]
assert [(f["index"], f["count"]) for f in e] == [(0, 3), (1, 3), (2, 3)], e
'
}

# the cache changes nothing in the output bytes
@test "--cache-mb 0 gives the same bytes as the cache" {
	need_data
	"$BIN/imgload" -q --size 64 --epochs 2 --shuffle --seed 3 "$RADPIPE_DATA/VAL" > cached.mpk
	"$BIN/imgload" -q --size 64 --epochs 2 --shuffle --seed 3 --cache-mb 0 "$RADPIPE_DATA/VAL" > plain.mpk
	cmp cached.mpk plain.mpk
	[ "$(read_stream < plain.mpk | tail -1)" = "frames 22" ]
}

# --- small folders made here ------------------------------------------

# labels follow the sorted class names; sub-folders belong to their class;
# other files are ignored; no --size keeps each image's size
@test "class folders: sorted labels, recursion, sizes kept, channels 3" {
	mkset
	"$BIN/imgload" -q set | read_stream > out.txt
	cat > want.txt <<-'END'
	0 sample id=a/y1.png label=0 class=a x=u8[6,6,3]
	1 sample id=a/y2.png label=0 class=a x=u8[5,3,3]
	2 sample id=b/x1.png label=1 class=b x=u8[4,5,3]
	3 sample id=b/sub/x2.png label=1 class=b x=u8[3,7,3]
	4 sample id=b/sub/x3.png label=1 class=b x=u8[4,4,3]
	frames 5
	END
	diff <(sed 's/ mean=.*//' out.txt) want.txt
}

# --classes fixes the order; --channels 1, --depth 16 and HxW sizes
@test "--classes, --channels 1, --depth 16, --size HxW, --interp" {
	mkset
	"$BIN/imgload" -q --classes b,a --channels 1 --depth 16 --size 9x4 --interp bilinear set |
		read_stream > out.txt
	grep -q '^0 sample id=a/y1.png label=1 class=a x=u16\[9,4,1\]' out.txt
	grep -q '^1 sample id=a/y2.png label=1 class=a x=u8\[9,4,1\]' out.txt
	grep -q '^2 sample id=b/x1.png label=0 class=b x=u8\[9,4,1\]' out.txt
	run "$BIN/imgload" -q --classes a set
	[ "$status" -ne 0 ]
	[[ "$output" == *"class 'b' is not one of --classes"* ]]
}

# gray PNG pixels arrive exactly, replicated to 3 channels
@test "pixels of a gray PNG are exact and replicated to RGB" {
	mkpng g.png 5 4 --seed 9
	"$BIN/imgload" -q g.png > g.mpk
	$PY -c '
import msgpack
f = next(msgpack.Unpacker(open("g.mpk", "rb"), raw=False))
x = f["x"]
assert x["dtype"] == "u8" and x["shape"] == [4, 5, 3], x["shape"]
d = x["data"]
for y in range(4):
    for xx in range(5):
        v = (xx * 37 + y * 11 + 9 * 13) % 256
        assert d[(y * 5 + xx) * 3: (y * 5 + xx) * 3 + 3] == bytes([v, v, v]), (y, xx)
assert f["meta"]["source"] == {"format": "png", "width": 5, "height": 4, "bit_depth": 8, "channels": 1}
assert f["meta"]["gray_rgb"] is False
'
}

# @LIST files: paths relative to the list, optional TAB class
@test "@LIST with classes" {
	mkset
	printf 'set/b/x1.png\tb\n# a comment\n\nset/a/y2.png\ta\n' > list.txt
	"$BIN/imgload" -q @list.txt | read_stream > out.txt
	grep -q '^0 sample id=set/b/x1.png label=1 class=b' out.txt
	grep -q '^1 sample id=set/a/y2.png label=0 class=a' out.txt
}

# --- broken files ------------------------------------------------------

# each kind of bad file: exit 1 and one error line that names the file
@test "bad files: one error naming the file, exit 1" {
	mkdir -p d/c
	mkpng d/c/good.png 4 4
	for kind in notpng truncated crc zero; do
		rm -f d/c/bad.png
		case $kind in
		notpng) echo 'hello' > d/c/bad.png ;;
		truncated) mkpng d/c/bad.png 40 40 --break truncate ;;
		crc) mkpng d/c/bad.png 4 4 --break crc ;;
		zero) : > d/c/bad.png ;;
		esac
		run_split "$BIN/imgload" -q d
		[ "$status" -eq 1 ] || { echo "$kind: status $status"; false; }
		[ "$(wc -l < err)" -eq 1 ] || { echo "$kind: $err"; false; }
		[[ "$err" == "imgload: d/c/bad.png: "* ]] || { echo "$kind: $err"; false; }
	done
	rm d/c/bad.png; run_split "$BIN/imgload" -q d	# the good one alone is fine
	[ "$status" -eq 0 ]
}

# the messages say what is wrong
@test "bad files: the reason is given" {
	mkdir d
	echo 'hello' > d/a.png; : > d/b.png; mkpng d/c.png 4 4 --break crc
	run "$BIN/imgload" -q d/a.png
	[[ "$output" == *"d/a.png: not an image radpipe can read"* ]]
	run "$BIN/imgload" -q d/b.png
	[[ "$output" == *"d/b.png: empty file"* ]]
	run "$BIN/imgload" -q d/c.png
	[[ "$output" == *"d/c.png: corrupt PNG: IHDR: CRC error"* ]]
}

# a missing path, an empty folder, a folder of non-images
@test "missing path and empty folders: exit 1 naming the path" {
	run_split "$BIN/imgload" -q nowhere
	[ "$status" -eq 1 ]
	[[ "$err" == *"nowhere: No such file or directory"* ]]
	mkdir empty
	run_split "$BIN/imgload" -q empty
	[ "$status" -eq 1 ]
	[[ "$err" == *"empty: no images found"* ]]
	[ ! -s out ]
	mkdir -p txt/c && echo x > txt/c/readme.txt
	run_split "$BIN/imgload" -q txt
	[ "$status" -eq 1 ]
	[[ "$err" == *"no images found"* ]]
}

# unreadable files (not testable as root: root reads anything)
@test "an unreadable file: exit 1 naming it" {
	[ "$(id -u)" -ne 0 ] || skip "running as root: chmod 000 does not stop root reading"
	mkdir d && mkpng d/a.png 3 3 && chmod 000 d/a.png
	run_split "$BIN/imgload" -q d
	[ "$status" -eq 1 ]
	[[ "$err" == *"d/a.png: Permission denied"* ]]
}

# --skip-bad warns about each bad file and goes on
@test "--skip-bad: a warning per bad file, the rest is loaded" {
	mkdir -p d/c
	mkpng d/c/1.png 4 4; echo no > d/c/2.png; mkpng d/c/3.png 4 4 --break crc; : > d/c/4.png
	mkpng d/c/5.png 4 4 --seed 1
	run_split "$BIN/imgload" -q --skip-bad d
	[ "$status" -eq 0 ]
	[ "$(grep -c '(skipped)' err)" -eq 3 ]
	grep -q 'd/c/2.png' err; grep -q 'd/c/3.png' err; grep -q 'd/c/4.png' err
	read_stream < out > out.txt
	[ "$(tail -1 out.txt)" = "frames 2" ]
	grep -q 'id=c/1.png' out.txt; grep -q 'id=c/5.png' out.txt
}

# --- special files, links, what was found (issues 14.2, 14.3, 15.6) ----

# a FIFO named like an image: an error at once, or skipped with --skip-bad;
# a FIFO with no image extension is not even opened (no DICOM sniffing)
@test "a FIFO in the folder: an error naming it, no hang; --skip-bad skips it" {
	mkdir -p d/c
	mkpng d/c/1.png 4 4
	mkfifo d/c/2.png d/c/noext
	run_split timeout 20 "$BIN/imgload" -q d
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: d/c/2.png: not a regular file (a FIFO)" ]
	[ ! -s out ]
	run_split timeout 20 "$BIN/imgload" -q --skip-bad d
	[ "$status" -eq 0 ]
	[ "$err" = "imgload: d/c/2.png: not a regular file (a FIFO) (skipped)" ]
	[ "$(read_stream < out | tail -1)" = "frames 1" ]
	# named on the command line, and a character device
	run_split timeout 20 "$BIN/imgload" -q d/c/2.png
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: d/c/2.png: not a regular file (a FIFO)" ]
	run_split timeout 20 "$BIN/imgload" -q /dev/null
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: /dev/null: not a regular file (a character device)" ]
}

# /proc/self/fd/0 is a FIFO that has a writer (itself) but no data:
# reading it to sniff for DICOM blocked for ever; now the walk ends (with an
# error: a descriptor of the walk itself is gone when it is visited)
@test "/proc/self with stdin an idle FIFO: no hang" {
	[ -d /proc/self/fd ] || skip "no /proc"
	mkfifo idle
	run_split timeout 30 "$BIN/imgload" -q /proc/self 0<>idle
	[ "$status" -le 1 ]
	[ "$(wc -l < err)" -le 3 ]
}

# a link from a class folder back to its parent: followed once, said so
@test "a directory link back to the root: no cycle, a warning, each image once" {
	mkdir -p set/a set/b
	mkpng set/a/1.png 4 4; mkpng set/b/2.png 4 4 --seed 1
	ln -s .. set/b/up
	run_split timeout 20 "$BIN/imgload" -q set
	[ "$status" -eq 0 ]
	[ "$err" = "imgload: set/b/up: a link back to set (a cycle): not followed" ]
	read_stream < out > out.txt
	[ "$(tail -1 out.txt)" = "frames 2" ]
	grep -q '^0 sample id=a/1.png label=0' out.txt
	grep -q '^1 sample id=b/2.png label=1' out.txt
}

# a class folder that links to another, and a linked file: taken once
@test "two links to one folder or file: taken once, the rest skipped with a warning" {
	mkdir -p set/a set/c
	mkpng set/a/1.png 4 4; mkpng set/c/3.png 4 4 --seed 3
	ln -s a set/b                   # class b is the folder of class a
	ln -s ../a/1.png set/c/4.png    # a file of class a, again in c
	run_split timeout 20 "$BIN/imgload" set
	[ "$status" -eq 0 ]
	grep -qx 'imgload: set/b: the same folder as set/a, taken already: skipped' err
	grep -qx 'imgload: set/c/4.png: the same file as set/a/1.png (a link): skipped' err
	grep -qx 'imgload: 2 images in 3 classes (a: 1, b: 0, c: 1)' err
	[ "$(read_stream < out | tail -1)" = "frames 2" ]
}

# the file list, the epoch order and the table of files seen go to
# temporary files in $TMPDIR (imgload(1), MEMORY): a folder that is not
# there or not a folder, or writes that fail (a 1 KiB file size limit with
# SIGXFSZ ignored: EFBIG, as a full disk gives ENOSPC), is one line naming
# the folder, status 1, and nothing on stdout
@test "TMPDIR missing, not a folder, or full: a one-line error naming it, status 1, no frame" {
	mkset
	TMPDIR=$T/nowhere run_split timeout 20 "$BIN/imgload" -q set
	[ "$status" -eq 1 ] && [ ! -s out ]
	[ "$err" = "imgload: temporary file in $T/nowhere: No such file or directory (TMPDIR names the folder)" ]
	touch afile
	TMPDIR=$T/afile run_split timeout 20 "$BIN/imgload" -q --shuffle --seed 1 set
	[ "$status" -eq 1 ] && [ ! -s out ]
	[ "$err" = "imgload: temporary file in $T/afile: Not a directory (TMPDIR names the folder)" ]
	mkdir tmp
	TMPDIR=$T/tmp run_split timeout 20 bash -c 'trap "" XFSZ; ulimit -f 1; exec "$0" -q set' "$BIN/imgload"
	[ "$status" -eq 1 ] && [ ! -s out ]
	[ "$err" = "imgload: temporary file in $T/tmp: File too large (TMPDIR names the folder)" ]
	[ -z "$(ls -A tmp)" ]           # nothing left behind
	TMPDIR=$T/tmp run_split timeout 20 "$BIN/imgload" -q set
	[ "$status" -eq 0 ] && [ -z "$(ls -A tmp)" ]
}

# what was loaded is said: unlabelled images, or the classes and counts
@test "the summary says unlabelled images, or each class with its count" {
	mkdir -p flat set/a set/b
	mkpng flat/1.png 4 4; mkpng flat/2.png 4 4
	mkpng set/a/1.png 4 4; mkpng set/b/2.png 4 4; mkpng set/b/3.png 4 4
	run_split "$BIN/imgload" flat
	[ "$err" = "imgload: 2 unlabelled images (no class folders)" ]
	run_split "$BIN/imgload" set
	[ "$err" = "imgload: 3 images in 2 classes (a: 1, b: 2)" ]
	run_split "$BIN/imgload" set/a
	[ "$err" = "imgload: 1 unlabelled image (no class folders)" ]
	run_split "$BIN/imgload" set flat/1.png
	[[ "$err" == *"imgload: 3 images in 2 classes (a: 1, b: 2)"* ]]
	[[ "$err" == *"imgload: and 1 unlabelled image (not in a class folder)"* ]]
	run_split "$BIN/imgload" -q set
	[ -z "$err" ]
}

# images beside class folders are in no class: Keras leaves them out, and
# so does imgload, but not silently
@test "images beside the class folders: left out with a warning" {
	mkdir -p set/a
	mkpng set/a/1.png 4 4; mkpng set/loose.png 4 4
	run_split "$BIN/imgload" -q set
	[ "$status" -eq 0 ]
	[ "$err" = "imgload: set: 1 image beside the class folders belongs to no class: ignored" ]
	[ "$(read_stream < out | tail -1)" = "frames 1" ]
}

# --- image size limit and memory (issue 14.12) --------------------------

# craft OUT W H DEPTH COLORTYPE [full]: a PNG whose header claims W x H;
# its IDAT holds two rows of zeros (or all rows with "full")
craft() {
	$PY - "$@" <<-'END'
	import struct, sys, zlib
	def chunk(k, d):
	    return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xffffffff)
	out, w, h, depth, ctype = sys.argv[1], *map(int, sys.argv[2:6])
	ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
	row = b"\0" * (1 + w * ch * depth // 8)
	z = zlib.compressobj(9)
	data = b"".join(z.compress(row) for _ in range(h if len(sys.argv) > 6 else 2)) + z.flush()
	ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
	open(out, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
	END
}

# a 1 KB PNG that claims 65536 x 65536 16-bit RGBA: refused from its
# header, naming the file, before any allocation (the address space is
# limited to 1 GiB, far below the 16 GiB it would take); --skip-bad goes on
@test "--max-pixels: a small PNG claiming a huge size is refused by name, skippable" {
	mkdir -p d/c
	craft d/c/huge.png 65536 65536 16 6
	mkpng d/c/ok.png 4 4
	[ "$(stat -c %s d/c/huge.png)" -lt 2000 ]
	run_split mem_capped timeout 20 "$BIN/imgload" -q d
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: d/c/huge.png: 65536x65536 image: 4294967296 pixels, more than the limit of 100000000 (--max-pixels)" ]
	[ ! -s out ]
	run_split mem_capped timeout 20 "$BIN/imgload" -q --skip-bad d
	[ "$status" -eq 0 ]
	[ "$err" = "imgload: d/c/huge.png: 65536x65536 image: 4294967296 pixels, more than the limit of 100000000 (--max-pixels) (skipped)" ]
	[ "$(read_stream < out | tail -1)" = "frames 1" ]
}

# without the limit, running out of memory for one image names the file
# and is skipped under --skip-bad (it stopped the run, with no name)
@test "--max-pixels 0: out of memory for one image names it and is skippable" {
	mkdir -p d/c
	craft d/c/huge.png 30000 30000 8 2
	mkpng d/c/ok.png 4 4
	run_split mem_capped timeout 20 "$BIN/imgload" -q --max-pixels 0 d
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: d/c/huge.png: out of memory for a 30000x30000 image (2700000000 bytes)" ]
	run_split mem_capped timeout 20 "$BIN/imgload" -q --max-pixels 0 --skip-bad d
	[ "$status" -eq 0 ]
	[[ "$err" == "imgload: d/c/huge.png: out of memory for a 30000x30000 image"*"(skipped)" ]]
	[ "$(read_stream < out | tail -1)" = "frames 1" ]
}

# the limit is width x height, inclusive: a 16-bit 10000 x 10000 image
# (a large mammogram) loads with the default, one more row does not
@test "--max-pixels: the default takes a 16-bit 10000x10000 image, not 10000x10001" {
	craft big.png 10000 10000 16 0 full
	craft bigger.png 10000 10001 16 0
	run_split timeout 120 "$BIN/imgload" -q --channels 1 --size 8 --depth 16 big.png
	[ "$status" -eq 0 ]
	read_stream < out | grep -q '^0 sample id=big.png x=u16\[8,8,1\]'
	run_split timeout 20 "$BIN/imgload" -q bigger.png
	[ "$status" -eq 1 ]
	[[ "$err" == *"bigger.png: 10000x10001 image: 100010000 pixels, more than the limit of 100000000"* ]]
}

# the same limit for JPEG and DICOM, checked on their headers
@test "--max-pixels N applies to PNG, JPEG and DICOM alike" {
	mkpng p.png 20 10
	run_split "$BIN/imgload" -q --max-pixels 200 p.png
	[ "$status" -eq 0 ]
	run_split "$BIN/imgload" -q --max-pixels 199 p.png
	[ "$status" -eq 1 ]
	[ "$err" = "imgload: p.png: 20x10 image: 200 pixels, more than the limit of 199 (--max-pixels)" ]
	if command -v cjpeg >/dev/null; then
		printf 'P5\n20 10\n255\n' > g.pgm; head -c 200 /dev/zero >> g.pgm
		cjpeg g.pgm > j.jpg
		run_split "$BIN/imgload" -q --max-pixels 200 j.jpg
		[ "$status" -eq 0 ]
		run_split "$BIN/imgload" -q --max-pixels 199 j.jpg
		[ "$err" = "imgload: j.jpg: 20x10 image: 200 pixels, more than the limit of 199 (--max-pixels)" ]
		# a JPEG whose frame header claims 60000 x 60000
		$PY -c '
import sys
b = bytearray(open("j.jpg", "rb").read())
i = b.index(b"\xff\xc0")
b[i + 5:i + 9] = (60000).to_bytes(2, "big") * 2
open("huge.jpg", "wb").write(b)'
		run_split mem_capped timeout 20 "$BIN/imgload" -q huge.jpg
		[ "$status" -eq 1 ]
		[ "$err" = "imgload: huge.jpg: 60000x60000 image: 3600000000 pixels, more than the limit of 100000000 (--max-pixels)" ]
	fi
	if command -v dump2dcm >/dev/null; then
		head -c 400 /dev/zero > px.raw
		printf '%s\n' '(0002,0010) UI =LittleEndianExplicit' '(0008,0016) UI =SecondaryCaptureImageStorage' \
		    '(0008,0018) UI [1.2.3.4.5]' '(0028,0002) US 1' '(0028,0004) CS [MONOCHROME2]' \
		    '(0028,0010) US 10' '(0028,0011) US 20' '(0028,0100) US 16' '(0028,0101) US 12' \
		    '(0028,0102) US 11' '(0028,0103) US 0' '(7fe0,0010) OW =px.raw' > d.dump
		dump2dcm -q d.dump d.dcm
		run_split "$BIN/imgload" -q --max-pixels 200 d.dcm
		[ "$status" -eq 0 ]
		run_split "$BIN/imgload" -q --max-pixels 199 d.dcm
		[ "$err" = "imgload: d.dcm: 20x10 image: 200 pixels, more than the limit of 199 (--max-pixels)" ]
	fi
}

# gray images are resized before they are replicated to RGB (less memory):
# each of the three channels must equal the one-channel result exactly
@test "gray to RGB with --size: each channel equals the one-channel result" {
	mkdir -p g/c
	mkpng g/c/a.png 53 41 --seed 3; mkpng g/c/b.png 6 6 --depth 16 --seed 4
	for how in nearest bilinear area; do
		for depth in 8 16; do
			"$BIN/imgload" -q --interp $how --depth $depth --size 17x30 g > c3.mpk
			"$BIN/imgload" -q --interp $how --depth $depth --size 17x30 --channels 1 g > c1.mpk
			$PY - <<-'END'
			import msgpack
			a = list(msgpack.Unpacker(open("c3.mpk", "rb"), raw=False))
			b = list(msgpack.Unpacker(open("c1.mpk", "rb"), raw=False))
			assert len(a) == len(b) == 2
			for f3, f1 in zip(a, b):
			    x3, x1 = f3["x"], f1["x"]
			    assert x3["shape"] == [17, 30, 3] and x1["shape"] == [17, 30, 1], (x3["shape"], x1["shape"])
			    k = 2 if x1["dtype"] == "u16" else 1
			    d1, d3 = x1["data"], x3["data"]
			    for i in range(17 * 30):
			        assert d3[3 * k * i:3 * k * (i + 1)] == d1[k * i:k * (i + 1)] * 3, (f1["id"], i)
			END
		done
	done
}

# --- names that are not UTF-8 (issue 14.14) -----------------------------

# ids and classes are valid UTF-8 str: a byte that is not UTF-8, a control
# byte and the backslash are escaped (\xHH, \\), which a reader undoes to
# get the file's name back; valid UTF-8 passes unchanged
@test "ids and classes of names that are not UTF-8 are escaped, reversibly" {
	ROOT="$ROOT" $PY - <<-'END'
	import os, subprocess, sys
	names = [b"caf\xe9.png", b"back\\slash.png", b"tab\tnew\nline.png", b"\xc3\xa9t\xc3\xa9.png",
	         b"sur\xed\xa0\x80.png", b"x\\xe9.png", b"bad\xc3.png"]
	os.makedirs(b"set/cl\xe4ss")
	os.makedirs(b"set/ok")
	for n in names:
	    subprocess.run([sys.executable, os.environ["ROOT"] + "/tests/lib/mkpng.py",
	                    b"set/cl\xe4ss/" + n, "3", "3"], check=True)
	subprocess.run([sys.executable, os.environ["ROOT"] + "/tests/lib/mkpng.py", "set/ok/a.png", "3", "3"], check=True)
	END
	run_split "$BIN/imgload" -q set
	[ "$status" -eq 0 ]
	$PY - <<-'END'
	import msgpack, os, re
	fr = list(msgpack.Unpacker(open("out", "rb"), raw=False))   # raw=False: str must be UTF-8
	def unescape(s):
	    out, i = bytearray(), 0
	    while i < len(s):
	        if s[i] == "\\" and s[i + 1] == "\\":
	            out += b"\\"; i += 2
	        elif s[i] == "\\" and s[i + 1] == "x":
	            out.append(int(s[i + 2:i + 4], 16)); i += 4
	        else:
	            out += s[i].encode(); i += 1
	    return bytes(out)
	got = sorted(unescape(f["id"]) for f in fr)
	want = sorted([b"ok/a.png"] + [b"cl\xe4ss/" + n for n in os.listdir(b"set/cl\xe4ss")])
	assert got == want, (got, want)
	ids = {f["id"] for f in fr}
	assert "cl\\xe4ss/caf\\xe9.png" in ids, ids
	assert "cl\\xe4ss/\u00e9t\u00e9.png" in ids, ids
	assert "cl\\xe4ss/back\\\\slash.png" in ids, ids
	assert "cl\\xe4ss/tab\\x09new\\x0aline.png" in ids, ids
	assert "cl\\xe4ss/sur\\xed\\xa0\\x80.png" in ids, ids
	assert "cl\\xe4ss/x\\\\xe9.png" in ids, ids
	assert {f["class"] for f in fr} == {"cl\\xe4ss", "ok"}
	END
}

# --- --shard: one rank's part of every epoch -----------------------------

# shard_ids ARGS...: "epoch id" lines of imgload -q --epochs 3 ARGS (its
# exit status kept in $T/rc)
shard_ids() {
	{ "$BIN/imgload" -q --epochs 3 "$@" 2>/dev/null; echo $? > "$T/rc"; } | "$BIN/peek" --width 200 |
		awk '$2 == "epoch" { split($3, a, "="); e = a[2] }
		     $2 == "sample" { match($0, / id="[^"]*"/); print e, substr($0, RSTART + 5, RLENGTH - 6) }'
}

# folders d0..d11 holding 0..11 tiny images
mkpool() {
	for i in $(seq 0 10); do mkpng "pool$i.png" 1 1 --seed "$i"; done
	for n in $(seq 0 11); do
		mkdir "d$n"
		for ((i = 0; i < n; i++)); do cp "pool$i.png" "d$n/i$i.png"; done
	done
}

# For S = 1..4 and n = 0..11, sorted and shuffled, with and without
# --shard-even, over 3 epochs: rank R's epoch is exactly the positions
# p % S == R (p below n, or below n - n % S with --shard-even) of the
# unsharded epoch with the same seed; so the ranks together hold every
# image once (all but n % S with --shard-even, in equal numbers).
@test "--shard R/S: the ranks split every epoch's order, each image once, for S = 1..4, n = 0..11" {
	mkpool
	local n S R shuf even end got want
	for n in $(seq 0 11); do
		for shuf in "" "--shuffle --seed 7"; do
			# shellcheck disable=SC2086
			shard_ids $shuf "d$n" > whole
			if [ "$n" -eq 0 ]; then	# no image: an error on every rank, as without --shard
				[ "$(cat "$T/rc")" -eq 1 ] && [ ! -s whole ]
			else
				[ "$(cat "$T/rc")" -eq 0 ]
				# the unsharded epoch is the folder's images once each
				for e in 0 1 2; do
					diff <(awk -v e=$e '$1 == e { print $2 }' whole | sort) <(ls "d$n" | sort)
				done
			fi
			for S in 1 2 3 4; do
				for even in "" --shard-even; do
					end=$n
					[ -z "$even" ] || end=$((n - n % S))
					: > union
					for ((R = 0; R < S; R++)); do
						# shellcheck disable=SC2086
						got=$(shard_ids --shard "$R/$S" $even $shuf "d$n")
						[ "$(cat "$T/rc")" -eq $((n == 0)) ] || { echo "n=$n $R/$S $even $shuf: status $(cat "$T/rc")"; false; }
						want=$(awk -v R=$R -v S=$S -v end=$end '
							$1 != e { e = $1; p = 0 }
							{ if (p < end && p % S == R) print; p++ }' whole)
						[ "$got" = "$want" ] || { echo "n=$n $R/$S $even $shuf:"; echo "got  $got"; echo "want $want"; false; }
						[ -z "$got" ] || echo "$got" >> union
						if [ -n "$even" ] && [ "$n" -gt 0 ]; then	# equal counts
							[ "$(echo "$got" | grep -c .)" -eq $((3 * (n / S))) ]
						fi
					done
					# each image at most once per epoch, and all of them
					# (all but n % S with --shard-even)
					[ -z "$(sort union | uniq -d)" ]
					for e in 0 1 2; do
						[ "$(awk -v e=$e '$1 == e' union | wc -l)" -eq "$end" ]
					done
					[ -n "$even" ] || diff <(sort union) <(sort whole)
				done
			done
		done
	done
}

# the same seed gives the same shards, byte for byte; --shard-even drops
# other images in other epochs when shuffling; meta.shard names the shard
@test "--shard: the same seed gives the same shard; meta.shard = {rank, size}; epoch frames on every rank" {
	mkpool
	"$BIN/imgload" -q --epochs 4 --shuffle --seed 3 --shard 1/3 --shard-even d11 > a.mpk
	"$BIN/imgload" -q --epochs 4 --shuffle --seed 3 --shard 1/3 --shard-even --cache-mb 0 d11 > b.mpk
	cmp a.mpk b.mpk
	"$BIN/imgload" -q --epochs 4 --shuffle --seed 4 --shard 1/3 --shard-even d11 > c.mpk
	! cmp -s a.mpk c.mpk
	"$BIN/peek" a.mpk > a.txt
	[ "$(grep -c ' epoch ' a.txt)" -eq 4 ]
	[ "$(grep -c ' sample ' a.txt)" -eq 12 ]
	[ "$(grep -c 'shard={rank=1 size=3}' a.txt)" -eq 12 ]
	# the dropped images (the last 11 % 3 = 2 of each shuffled epoch) differ between epochs
	for e in 0 1 2 3; do
		for R in 0 1 2; do
			shard_ids --epochs 4 --shuffle --seed 3 --shard "$R/3" --shard-even d11
		done | awk -v e=$e '$1 == e { print $2 }' | sort > "kept$e"
	done
	! { cmp -s kept0 kept1 && cmp -s kept1 kept2 && cmp -s kept2 kept3; }
	# without --shard, no meta.shard
	"$BIN/imgload" -q d3 | "$BIN/peek" | { ! grep -q shard=; }
}

# --shard auto reads mpirun's, MPICH's or srun's variables, in that order
@test "--shard auto: OMPI_COMM_WORLD_*, PMI_*, SLURM_* in that order; none set: exit 2" {
	mkpool
	local v
	for v in OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE PMI_RANK PMI_SIZE SLURM_PROCID SLURM_NTASKS; do
		unset "$v"
	done
	"$BIN/imgload" -q --shard 2/4 d11 > want2.mpk
	"$BIN/imgload" -q --shard 1/2 d11 > want1.mpk
	OMPI_COMM_WORLD_RANK=2 OMPI_COMM_WORLD_SIZE=4 SLURM_PROCID=1 SLURM_NTASKS=2 \
		"$BIN/imgload" -q --shard auto d11 > got.mpk
	cmp got.mpk want2.mpk
	PMI_RANK=2 PMI_SIZE=4 SLURM_PROCID=1 SLURM_NTASKS=2 "$BIN/imgload" -q --shard auto d11 > got.mpk
	cmp got.mpk want2.mpk
	SLURM_PROCID=1 SLURM_NTASKS=2 "$BIN/imgload" -q --shard auto d11 > got.mpk
	cmp got.mpk want1.mpk
	run_split "$BIN/imgload" --shard auto d11
	[ "$status" -eq 2 ] && [ ! -s "$T/out" ]
	[[ "$err" == "imgload: --shard auto: no launcher set the rank"* ]]
	SLURM_PROCID=1 run_split "$BIN/imgload" --shard auto d11
	[ "$status" -eq 2 ] && [[ "$err" == *"SLURM_PROCID is set but SLURM_NTASKS is not"* ]]
	SLURM_PROCID=2 SLURM_NTASKS=2 run_split "$BIN/imgload" --shard auto d11
	[ "$status" -eq 2 ] && [[ "$err" == *"SLURM_PROCID=2 is not below SLURM_NTASKS=2"* ]]
	SLURM_PROCID=x SLURM_NTASKS=2 run_split "$BIN/imgload" --shard auto d11
	[ "$status" -eq 2 ] && [[ "$err" == *"SLURM_PROCID: 'x' is not an integer"* ]]
}

# a rank whose shard is empty (n < S) writes the epoch frames only and succeeds
@test "--shard: an empty shard (fewer images than ranks) gives the epoch frames and exit 0" {
	mkpool
	run_split "$BIN/imgload" --epochs 2 --shard 3/4 d2
	[ "$status" -eq 0 ]
	[ "$("$BIN/peek" --count "$T/out" | awk '$1 == "epoch" { print $2 }')" -eq 2 ]
	[ "$("$BIN/peek" --count "$T/out" | awk '$1 == "sample" { print $2 }')" = "" ]
	[[ "$err" == *"shard 3/4: 0 of the 2 images per epoch"* ]]
}

# --- bad arguments: exit 2, nothing on stdout ---------------------------

@test "bad arguments: exit 2 and empty stdout" {
	mkpng a.png 3 3
	expect_usage_errors imgload /dev/null "--bogus a.png" "--size 0 a.png" "--size abc a.png" \
	    "--size 10x a.png" "--size 3x0 a.png" "--size -5 a.png" "--channels 2 a.png" \
	    "--channels 4 a.png" "--interp cubic a.png" "--depth 12 a.png" "--epochs 0 a.png" \
	    "--epochs 1.5 a.png" "--seed -1 a.png" "--seed x a.png" "--cache-mb -1 a.png" "" "--size" \
	    "--max-pixels -1 a.png" "--max-pixels x a.png" "--max-pixels" \
	    "--shard 1/1 a.png" "--shard 4/4 a.png" "--shard 0/0 a.png" "--shard 1/0 a.png" \
	    "--shard -1/2 a.png" "--shard 1 a.png" "--shard x a.png" "--shard 1/x a.png" \
	    "--shard /2 a.png" "--shard 1/ a.png" "--shard 1/2/3 a.png" "--shard 1.5/2 a.png" "--shard"
	# the message says what is wrong
	run_split "$BIN/imgload" --shard 2/2 a.png
	[[ "$err" == "imgload: --shard 2/2: the rank must be below the size (0 to 1)"* ]]
	run_split "$BIN/imgload" --shard 1/0 a.png
	[[ "$err" == "imgload: --shard (the size): 0 is out of range"* ]]
	run_split "$BIN/imgload" --shard junk a.png
	[[ "$err" == "imgload: --shard: expected RANK/SIZE (e.g. 0/4) or auto, got 'junk'"* ]]
}

# --help and --version go to stdout and succeed
@test "--help lists every option; --version" {
	run "$BIN/imgload" --help
	[ "$status" -eq 0 ]
	for o in --size --interp --channels --depth --epochs --shuffle --seed --classes \
	    --cache-mb --skip-bad --max-pixels --shard --shard-even --quiet; do
		[[ "$output" == *"$o"* ]] || { echo "missing $o"; false; }
	done
	run "$BIN/imgload" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "imgload (radpipe) "* ]]
}

# --- the manual ----------------------------------------------------------

# every option of --help is in the man page and the page is lint-clean
@test "imgload(1) documents every option and passes mandoc -Tlint" {
	check_man imgload
}

# the EXAMPLES of imgload(1) run on the data as written
@test "imgload(1) EXAMPLES run" {
	need_data
	run_man_examples imgload 3
}
