#!/usr/bin/env bats
# imgload(1) on DICOM files that DCMTK's own tools write: dump2dcm from a
# dump text and a raw pixel file, then dcmcjpeg, dcmcjpls, dcmcrle and
# dcmconv for the other transfer syntaxes; dcmmkdir for a DICOMDIR.
# Expected pixels are the raw bytes written (exact for lossless syntaxes),
# or values computed here from the formulas of imgload(1).

setup() {
	load ../lib/io-common
	command -v dump2dcm >/dev/null || skip "dcmtk is not installed"
	cd "$T"
}

# raw.py OUT W H FRAMES BITS [--invert] [--signed]: a deterministic pattern
raw() {
	$PY - "$@" <<-'END'
	import sys, struct
	out, w, h, n, bits = sys.argv[1], *map(int, sys.argv[2:6])
	inv, signed = "--invert" in sys.argv, "--signed" in sys.argv
	top = (1 << bits) - 1
	vals = [((i * 37 + f * 101) * (1 if bits == 8 else 263)) % (top + 1)
	        for f in range(n) for i in range(w * h)]
	if inv:
	    vals = [top - v for v in vals]
	fmt = "B" if bits == 8 else "H"
	open(out, "wb").write(struct.pack("<%d%s" % (len(vals), fmt), *vals))
	END
}

# mkdcm OUT W H FRAMES BITS PHOTOMETRIC RAW [extra dump lines...]
# (SOP=uid in the environment sets the SOP Instance UID)
mkdcm() {
	local out=$1 w=$2 h=$3 n=$4 bits=$5 pi=$6 rawf=$7
	shift 7
	{
		echo '(0002,0010) UI =LittleEndianExplicit'
		echo '(0008,0016) UI =SecondaryCaptureImageStorage'
		echo "(0008,0018) UI [${SOP:-1.2.826.0.1.3680043.2.1143.$RANDOM.$RANDOM}]"
		echo '(0008,0060) CS [CR]'
		echo '(0010,0010) PN [Doe^Jane]'
		echo '(0010,0020) LO [PAT123]'
		echo '(0010,0030) DA [19700101]'
		echo '(0018,0015) CS [CHEST]'
		echo '(0018,5101) CS [PA]'
		echo '(0020,000d) UI [1.2.3]'
		echo '(0020,000e) UI [1.2.3.4]'
		echo '(0028,0002) US 1'
		echo "(0028,0004) CS [$pi]"
		echo "(0028,0008) IS [$n]"
		echo "(0028,0010) US $h"
		echo "(0028,0011) US $w"
		echo '(0028,0030) DS [0.5\0.25]'
		echo "(0028,0100) US $bits"
		echo "(0028,0101) US $bits"
		echo "(0028,0102) US $((bits - 1))"
		echo '(0028,0103) US 0'
		for l in "$@"; do echo "$l"; done
		echo "(7fe0,0010) $([ "$bits" = 8 ] && echo OB || echo OW) =$rawf"
	} > "$out.dump"
	dump2dcm -q "$out.dump" "$out"
}

# pixels FILE.mpk [FRAME]: the x bytes of sample FRAME, as hex
pixels() {
	$PY -c '
import msgpack, sys
fr = [f for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False) if f["kind"] == "sample"]
sys.stdout.write(fr[int(sys.argv[2]) if len(sys.argv) > 2 else 0]["x"]["data"].hex())
' "$@"
}

@test "every lossless transfer syntax reads back the stored pixels exactly" {
	raw p8.raw 17 11 1 8
	mkdcm a.dcm 17 11 1 8 MONOCHROME2 p8.raw
	dcmcjpeg a.dcm jpeg-lossless.dcm
	dcmcjpls a.dcm jpeg-ls.dcm
	dcmcrle a.dcm rle.dcm
	dcmconv +td a.dcm deflated.dcm
	dcmconv +ti a.dcm implicit.dcm
	dcmconv +tb a.dcm bigendian.dcm
	want=$(od -An -v -tx1 p8.raw | tr -d ' \n')
	for f in a jpeg-lossless jpeg-ls rle deflated implicit bigendian; do
		"$BIN/imgload" -q --channels 1 "$f.dcm" > "$f.mpk"
		[ "$(pixels "$f.mpk")" = "$want" ] || { echo "$f differs"; false; }
	done
	dcmcjpeg +eb a.dcm baseline.dcm         # lossy: close
	"$BIN/imgload" -q --channels 1 baseline.dcm > baseline.mpk
	$PY -c '
import sys
a = bytes.fromhex(sys.argv[1]); b = bytes.fromhex(sys.argv[2])
assert len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) <= 12
' "$want" "$(pixels baseline.mpk)"
}

@test "16 bits: kept with --depth 16 (also JPEG-LS), else round(v*255/65535)" {
	raw p16.raw 9 7 1 16
	mkdcm b.dcm 9 7 1 16 MONOCHROME2 p16.raw
	dcmcjpls b.dcm b-ls.dcm
	want=$(od -An -v -tx1 p16.raw | tr -d ' \n')
	for f in b b-ls; do
		"$BIN/imgload" -q --channels 1 --depth 16 "$f.dcm" > "$f.mpk"
		[ "$(pixels "$f.mpk")" = "$want" ]
	done
	"$BIN/imgload" -q --channels 1 b.dcm > b8.mpk
	$PY -c '
import struct, sys
v = struct.unpack("<63H", open("p16.raw", "rb").read())
assert bytes.fromhex(sys.argv[1]) == bytes((x * 255 + 32767) // 65535 for x in v)
' "$(pixels b8.mpk)"
}

@test "MONOCHROME1 with inverted pixels reads back as the original" {
	raw p.raw 8 6 1 8
	raw inv.raw 8 6 1 8 --invert
	mkdcm m1.dcm 8 6 1 8 MONOCHROME1 inv.raw
	dcmcrle m1.dcm m1-rle.dcm
	want=$(od -An -v -tx1 p.raw | tr -d ' \n')
	for f in m1 m1-rle; do
		"$BIN/imgload" -q --channels 1 "$f.dcm" > "$f.mpk"
		[ "$(pixels "$f.mpk")" = "$want" ]
	done
}

# m = s * 2 - 1024; LINEAR window; presets; minmax
@test "rescale slope/intercept and windows give the values of the formulas" {
	raw p12.raw 16 16 1 16
	mkdcm ct.dcm 16 16 1 16 MONOCHROME2 p12.raw \
		'(0028,1050) DS [40]' '(0028,1051) DS [400]' '(0028,1052) DS [-1024]' '(0028,1053) DS [2]'
	"$BIN/imgload" -q --channels 1 ct.dcm > file.mpk
	"$BIN/imgload" -q --channels 1 --window-preset lung ct.dcm > lung.mpk
	"$BIN/imgload" -q --channels 1 --window 1000,2001 --depth 16 ct.dcm > w16.mpk
	"$BIN/imgload" -q --channels 1 --window minmax ct.dcm > minmax.mpk
	$PY - "$(pixels file.mpk)" "$(pixels lung.mpk)" "$(pixels w16.mpk)" "$(pixels minmax.mpk)" <<-'END'
	import math, struct, sys
	s = struct.unpack("<256H", open("p12.raw", "rb").read())
	m = [v * 2 - 1024 for v in s]
	def lin(x, c, w, top):
	    if x <= c - 0.5 - (w - 1) / 2: return 0
	    if x > c - 0.5 + (w - 1) / 2: return top
	    return math.floor(((x - (c - 0.5)) / (w - 1) + 0.5) * top + 0.5)
	assert bytes.fromhex(sys.argv[1]) == bytes(lin(x, 40, 400, 255) for x in m)
	assert bytes.fromhex(sys.argv[2]) == bytes(lin(x, -600, 1500, 255) for x in m)
	assert bytes.fromhex(sys.argv[3]) == struct.pack("<256H", *[lin(x, 1000, 2001, 65535) for x in m])
	lo, hi = min(m), max(m)
	assert bytes.fromhex(sys.argv[4]) == bytes(math.floor((x - lo) / (hi - lo) * 255 + 0.5) for x in m)
	END
	"$BIN/imgload" -q ct.dcm | read_stream > /dev/null
	$PY -c '
import msgpack
f = next(msgpack.Unpacker(open("file.mpk", "rb"), raw=False))
assert f["meta"]["dicom"]["voi"] == "window 40,400 LINEAR (file)", f["meta"]["dicom"]
'
}

@test "a multi-frame file gives one sample per frame, ids #1..#3" {
	raw mf.raw 6 5 3 8
	mkdcm mf.dcm 6 5 3 8 MONOCHROME2 mf.raw
	dcmcjpls mf.dcm mf-ls.dcm
	for f in mf mf-ls; do
		"$BIN/imgload" -q --channels 1 "$f.dcm" > "$f.mpk"
		read_stream < "$f.mpk" > "$f.txt"
		[ "$(tail -1 "$f.txt")" = "frames 3" ]
		grep -q "^2 sample id=$f.dcm#3 " "$f.txt"
		for k in 0 1 2; do
			[ "$(pixels "$f.mpk" $k)" = "$(od -An -v -tx1 -j $((k * 30)) -N 30 mf.raw | tr -d ' \n')" ]
		done
	done
}

@test "patient data: keyed hash only, name and birth date never; --keep-patient-id" {
	raw p.raw 4 4 1 8
	mkdcm pt.dcm 4 4 1 8 MONOCHROME2 p.raw
	run_split "$BIN/imgload" -q pt.dcm
	[ "$status" -eq 0 ]
	[[ "$err" == *"no patient key"* ]]
	! grep -aq 'patient_key\|PAT123\|Doe\|19700101' "$T/out"
	printf 'secret\n' > key
	"$BIN/imgload" -q --patient-key-file key pt.dcm > k1.mpk
	RADPIPE_PATIENT_KEY=secret "$BIN/imgload" -q pt.dcm > k2.mpk
	cmp k1.mpk k2.mpk
	! grep -aq 'PAT123\|Doe\|19700101' k1.mpk
	$PY -c '
import msgpack, hmac, hashlib
d = next(msgpack.Unpacker(open("k1.mpk", "rb"), raw=False))["meta"]["dicom"]
assert d["patient_key"] == hmac.new(b"secret", b"PAT123", hashlib.sha256).hexdigest(), d
assert "patient_id" not in d and d["modality"] == "CR" and d["body_part"] == "CHEST"
assert d["view_position"] == "PA" and d["pixel_spacing"] == [0.5, 0.25], d
assert d["study_uid"] == "1.2.3" and d["series_uid"] == "1.2.3.4" and d["sop_uid"]
'
	"$BIN/imgload" -q --keep-patient-id pt.dcm > id.mpk
	grep -aq PAT123 id.mpk
	! grep -aq 'Doe\|19700101' id.mpk
}

@test "folders: DICOM found by content; DICOMDIR and images without pixels skipped" {
	raw p.raw 4 4 1 8
	mkdir -p set/x set/y
	mkdcm set/x/IM0001 4 4 1 8 MONOCHROME2 p.raw
	mkdcm set/x/1.2.3.4.5 4 4 1 8 MONOCHROME2 p.raw
	mkdcm set/y/b.dcm 4 4 1 8 MONOCHROME2 p.raw
	grep -v 7fe0 set/y/b.dcm.dump > sr.dump
	dump2dcm -q sr.dump set/y/nopixels.dcm
	rm set/*/*.dump
	(cd set/x && dcmmkdir -q +I IM0001)
	echo 'not an image' > set/y/notes.txt
	run_split "$BIN/imgload" set
	[ "$status" -eq 0 ]
	read_stream < "$T/out" > out.txt
	grep -q 'id=x/1.2.3.4.5 label=0 class=x' out.txt
	grep -q 'id=x/IM0001 label=0 class=x' out.txt
	grep -q 'id=y/b.dcm label=1 class=y' out.txt
	[ "$(tail -1 out.txt)" = "frames 3" ]
	[[ "$err" == *"nopixels.dcm: no pixel data"* ]]
	[ -f set/x/DICOMDIR ]
	[[ "$err" == *"x/DICOMDIR: a DICOMDIR (media directory), not an image: skipped"* ]]
}

@test "truncated, non-DICOM, absurd sizes: exit 1, a message, no output" {
	raw p.raw 8 8 1 8
	mkdcm ok.dcm 8 8 1 8 MONOCHROME2 p.raw
	head -c $(( $(stat -c %s ok.dcm) - 16 )) ok.dcm > trunc.dcm	# cuts into the pixel data
	head -c 128 /dev/urandom > junk.dcm; printf 'DICM' >> junk.dcm; head -c 200 /dev/urandom >> junk.dcm
	dcmodify -q -nb -m '(0028,0010)=65535' -m '(0028,0011)=65535' -i '(0028,0008)=99999' \
		-o ok.dcm huge.dcm 2>/dev/null || cp ok.dcm huge.dcm
	dcmodify -q -nb -m '(0028,0010)=65535' -m '(0028,0011)=65535' -m '(0028,0008)=99999' huge.dcm
	for f in trunc junk huge; do
		run_split "$BIN/imgload" -q "$f.dcm"
		[ "$status" -eq 1 ] || { echo "$f: status $status"; false; }
		[ ! -s "$T/out" ]
		[[ "$err" == "imgload: $f.dcm: "* ]] || { echo "$f: $err"; false; }
	done
	run_split "$BIN/imgload" -q huge.dcm
	[[ "$err" == *"limit"* ]]
	run_split "$BIN/imgload" --skip-bad -q trunc.dcm ok.dcm
	[ "$status" -eq 0 ]
	[ "$(read_stream < "$T/out" | tail -1)" = "frames 1" ]
}

# data/jpeg-fill-tem.dcm (tests/lib/mkencaps.py, see there): JPEG Baseline, 8x8, one fragment
# FF D8 FF FF 01 FF D9.  DCMTK 3.6.7 looks for the sample precision by
# walking the markers; it steps over the fill byte FF FF by one byte, lands
# on TEM (FF 01) and never moves again (issue 14.1).
@test "a JPEG fragment that spins DCMTK's marker walk: an error, also under --skip-bad" {
	raw p.raw 8 8 1 8
	mkdcm ok.dcm 8 8 1 8 MONOCHROME2 p.raw
	cp "$ROOT/tests/cli/data/jpeg-fill-tem.dcm" tem.dcm
	run_split timeout 20 "$BIN/imgload" -q tem.dcm
	[ "$status" -eq 1 ] || { echo "status $status (124: hung)"; false; }
	[ ! -s "$T/out" ]
	[ "$err" = "imgload: tem.dcm: corrupt JPEG Baseline data: a TEM marker before the frame header" ]
	run_split timeout 20 "$BIN/imgload" --skip-bad -q tem.dcm ok.dcm
	[ "$status" -eq 0 ]
	[[ "$err" == *"tem.dcm: corrupt JPEG Baseline data"*"(skipped)"* ]]
	[ "$(read_stream < "$T/out" | tail -1)" = "frames 1" ]
}

@test "nothing loaded at all (a report alone, every file bad under --skip-bad): exit 1" {
	raw p.raw 4 4 1 8
	mkdcm b.dcm 4 4 1 8 MONOCHROME2 p.raw
	grep -v 7fe0 b.dcm.dump > sr.dump
	dump2dcm -q sr.dump sr.dcm
	run_split "$BIN/imgload" -q sr.dcm
	[ "$status" -eq 1 ]
	[ ! -s "$T/out" ]
	[[ "$err" == "imgload: no sample loaded from 1 file(s); last: sr.dcm: no pixel data"* ]]
	head -c $(( $(stat -c %s b.dcm) - 8 )) b.dcm > trunc.dcm	# cuts into the pixel data
	run_split "$BIN/imgload" -q --skip-bad trunc.dcm sr.dcm
	[ "$status" -eq 1 ]
	[[ "$err" == *"trunc.dcm: "*"(skipped)"*"imgload: no sample loaded from 2 file(s)"* ]] || { echo "$err"; false; }
	run_split "$BIN/imgload" -q sr.dcm b.dcm
	[ "$status" -eq 0 ]
	[ "$(read_stream < "$T/out" | tail -1)" = "frames 1" ]
}

@test "datasets without preamble and meta header: read when the encoding is clear" {
	raw p.raw 7 5 1 16
	mkdcm a.dcm 7 5 1 16 MONOCHROME2 p.raw
	"$BIN/imgload" -q --depth 16 a.dcm > a.mpk
	for t in ti te tb; do
		dcmconv -q -F +$t a.dcm raw-$t.dcm     # -F: the dataset alone
		run_split "$BIN/imgload" -q --depth 16 raw-$t.dcm
		[ "$status" -eq 0 ] || { echo "$t: $err"; false; }
		[ "$(pixels "$T/out")" = "$(pixels a.mpk)" ]
	done
	{ printf ' '; cat raw-te.dcm; } > shifted.dcm   # one stray byte: no encoding fits
	run_split "$BIN/imgload" -q shifted.dcm
	[ "$status" -eq 1 ]
	[[ "$err" == "imgload: shifted.dcm: not an image radpipe can read"* ]]
}

@test "--labels by id, by SOP Instance UID; --unlabeled skip; bad values" {
	raw p.raw 4 4 1 8
	mkdir -p d/sub
	SOP=1.9.1 mkdcm d/a.dcm 4 4 1 8 MONOCHROME2 p.raw
	SOP=1.9.2 mkdcm d/sub/b.dcm 4 4 1 8 MONOCHROME2 p.raw
	SOP=1.9.3 mkdcm d/c.dcm 4 4 1 8 MONOCHROME2 p.raw
	rm d/*.dump d/sub/*.dump
	printf 'id,finding\na.dcm,normal\nsub/b.dcm,"pneumonia"\nc.dcm,normal\n' > by-id.csv
	"$BIN/imgload" -q --labels by-id.csv d | read_stream > out.txt
	grep -q 'id=a.dcm label=0 class=normal' out.txt
	grep -q 'id=sub/b.dcm label=1 class=pneumonia' out.txt
	printf 'SOPInstanceUID,class\n1.9.2,b\n1.9.3,c\n' > by-sop.csv
	run_split "$BIN/imgload" -q --labels by-sop.csv --label-key sop d
	[ "$status" -eq 1 ]
	[[ "$err" == *"no label for sop '1.9.1'"* ]]
	"$BIN/imgload" -q --labels by-sop.csv --label-key sop --unlabeled skip d | read_stream > out.txt
	[ "$(tail -1 out.txt)" = "frames 2" ]
	grep -q 'id=c.dcm label=1 class=c' out.txt
	run_split "$BIN/imgload" --window 40 d
	[ "$status" -eq 2 ] && [ ! -s "$T/out" ]
	run_split "$BIN/imgload" --window 40,0 d
	[ "$status" -eq 2 ] && [ ! -s "$T/out" ]
	run_split "$BIN/imgload" --window-preset liver d
	[ "$status" -eq 2 ] && [ ! -s "$T/out" ]
	run_split "$BIN/imgload" --label-key uid --labels by-id.csv d
	[ "$status" -eq 2 ] && [ ! -s "$T/out" ]
}

# The literal blocks of the DICOM subsection of imgload(1), run on a ct/
# folder of class folders and a dicom/ folder with labels.csv made here.
@test "imgload(1) DICOM examples run" {
	awk '
		/^\.S[hs] / { in_ = ($0 == ".Ss DICOM"); next }
		in_ && /^\.Bd -literal/ { lit = 1; cmd = ""; next }
		in_ && lit && /^\.Ed/ { lit = 0; next }
		in_ && lit {
			line = $0; gsub(/\\&/, "", line); gsub(/\\e/, "\\", line)
			if (line ~ /\\$/) { cmd = cmd substr(line, 1, length(line) - 1) " "; next }
			print cmd line; cmd = ""
		}' "$ROOT/man/man1/imgload.1" > ex.sh
	[ "$(wc -l < ex.sh)" -eq 2 ]
	raw p.raw 4 4 1 16
	mkdir -p ct/normal ct/nodule dicom
	mkdcm ct/normal/a.dcm 4 4 1 16 MONOCHROME2 p.raw
	mkdcm ct/nodule/b.dcm 4 4 1 16 MONOCHROME2 p.raw
	SOP=1.2.9.1 mkdcm dicom/c.dcm 4 4 1 16 MONOCHROME2 p.raw
	SOP=1.2.9.2 mkdcm dicom/d.dcm 4 4 1 16 MONOCHROME2 p.raw
	rm ct/*/*.dump dicom/*.dump
	printf 'SOPInstanceUID,class\n1.2.9.1,normal\n' > labels.csv
	printf 'not a real secret\n' > .radpipe-key
	while IFS= read -r cmd; do
		echo "example: $cmd"
		HOME="$T" PATH="$BIN:$PATH" bash -o pipefail -c "$cmd" 2> ex.err || { cat ex.err; false; }
	done < ex.sh
	[ "$(read_stream < ct.mpk | tail -1)" = "frames 2" ]
	read_stream < ct.mpk | grep -q 'x=u16\[4,4,1\]'
	[ "$(read_stream < train.mpk | tail -1)" = "frames 1" ]
}

# pydicom's test files (python3-pydicom; python3-gdcm decodes the
# compressed ones): written by GDCM, DCMTK and various vendors.  Every image
# both decode must match exactly (tests/lib/dicom_corpus.py says how the
# stored values are recovered); lossy JPEG colour within 8 levels.  What
# imgload refuses while pydicom decodes it is exactly the out-of-scope list
# of imgload(1).
@test "pydicom's test files: the same pixels as pydicom; refusals only the documented ones" {
	PYD=/usr/bin/python3
	$PYD -c 'import pydicom, numpy, msgpack' 2>/dev/null || skip "python3-pydicom is not installed"
	$PYD -c 'import gdcm' 2>/dev/null || skip "python3-gdcm is not installed"
	dir=$($PYD -c 'import pydicom.data, os; print(os.path.dirname(pydicom.data.__file__))')/test_files
	[ -d "$dir" ] || skip "pydicom's test files are not installed"
	cat > refused.txt <<-'END'
	# BitsAllocated 1 (a segmentation) and 32 (RT dose, 32-bit RLE colour)
	liver_1frame.dcm
	liver_expb_1frame.dcm
	rtdose.dcm
	rtdose_1frame.dcm
	rtdose_expb.dcm
	rtdose_expb_1frame.dcm
	rtdose_rle.dcm
	rtdose_rle_1frame.dcm
	SC_rgb_rle_32bit.dcm
	SC_rgb_rle_32bit_2frame.dcm
	# corrupt: a JPEG 2000 header overwritten; a JPEG file whose dataset is
	# in implicit VR
	JPEG2000-embedded-sequence-delimiter.dcm
	SC_rgb_jpeg.dcm
	END
	run timeout 600 $PYD "$ROOT/tests/lib/dicom_corpus.py" "$BIN/imgload" "$dir" refused.txt
	echo "$output" | grep -v '^Warning\|^Error\|warn' || true    # shown on failure
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' match$')" -ge 50 ]
	echo "$output" | grep -q '^693_J2KI.dcm  *match$'
	echo "$output" | grep -q '^SC_ybr_full_422_uncompressed.dcm  *match$'
}

# JPEG 2000 codestreams from opj_compress (libopenjp2-tools), wrapped by
# tests/lib/mkencaps.py: lossless, so the pixels come back exactly.
@test "JPEG 2000: lossless gray 16-bit (2 frames, split fragments) and RGB (YBR_RCT)" {
	command -v opj_compress >/dev/null || skip "opj_compress (libopenjp2-tools) is not installed"
	raw p16.raw 13 7 2 16
	raw rgb.raw 13 7 3 8
	$PY - <<-'END'
	d = open("p16.raw", "rb").read()
	for k in range(2):
	    f = d[k * 182:(k + 1) * 182]
	    be = b"".join(f[i + 1:i + 2] + f[i:i + 1] for i in range(0, len(f), 2))
	    open("f%d.pgm" % k, "wb").write(b"P5\n13 7\n65535\n" + be)
	open("rgb.ppm", "wb").write(b"P6\n13 7\n255\n" + open("rgb.raw", "rb").read())
	END
	for f in f0 f1; do opj_compress -n 2 -i $f.pgm -o $f.j2k >/dev/null; done
	opj_compress -n 2 -i rgb.ppm -o rgb.j2k -mct 1 >/dev/null
	mkenc() { $PY "$ROOT/tests/lib/mkencaps.py" "$@"; }
	mkenc gray.dcm 1.2.840.10008.1.2.4.90 7 13 1 16 MONOCHROME2 2 f0.j2k f1.j2k
	mkenc color.dcm 1.2.840.10008.1.2.4.91 7 13 3 8 YBR_RCT 1 rgb.j2k
	head -c 100 f0.j2k > a.part; tail -c +101 f0.j2k > b.part
	mkenc split.dcm 1.2.840.10008.1.2.4.90 7 13 1 16 MONOCHROME2 1 a.part b.part
	hexof() { $PY -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d[int(sys.argv[2]):int(sys.argv[3])].hex())' "$@"; }
	"$BIN/imgload" -q --depth 16 --channels 1 gray.dcm > gray.mpk
	[ "$(pixels gray.mpk 0)" = "$(hexof p16.raw 0 182)" ]
	[ "$(pixels gray.mpk 1)" = "$(hexof p16.raw 182 364)" ]
	"$BIN/imgload" -q --depth 16 --channels 1 split.dcm > split.mpk
	[ "$(pixels split.mpk)" = "$(hexof p16.raw 0 182)" ]
	"$BIN/imgload" -q color.dcm > color.mpk
	[ "$(pixels color.mpk)" = "$(hexof rgb.raw 0 273)" ]
}

@test "JPEG 2000: corrupt, truncated, wrong size or fragments: exit 1 with a message, no hang" {
	command -v opj_compress >/dev/null || skip "opj_compress (libopenjp2-tools) is not installed"
	raw p.raw 9 5 1 8
	$PY -c 'open("p.pgm", "wb").write(b"P5\n9 5\n255\n" + open("p.raw", "rb").read())'
	opj_compress -n 2 -i p.pgm -o p.j2k >/dev/null
	mkenc() { $PY "$ROOT/tests/lib/mkencaps.py" "$@"; }
	head -c 60 p.j2k > cut.j2k
	head -c 300 /dev/urandom > junk.j2k
	mkenc cut.dcm 1.2.840.10008.1.2.4.90 5 9 1 8 MONOCHROME2 1 cut.j2k
	mkenc junk.dcm 1.2.840.10008.1.2.4.90 5 9 1 8 MONOCHROME2 1 junk.j2k
	mkenc size.dcm 1.2.840.10008.1.2.4.90 6 9 1 8 MONOCHROME2 1 p.j2k
	mkenc comps.dcm 1.2.840.10008.1.2.4.90 5 9 3 8 RGB 1 p.j2k
	mkenc frames.dcm 1.2.840.10008.1.2.4.90 5 9 1 8 MONOCHROME2 3 p.j2k p.j2k
	for f in cut junk size comps frames; do
		run_split timeout 20 "$BIN/imgload" -q "$f.dcm"
		[ "$status" -eq 1 ] || { echo "$f: status $status"; false; }
		[ ! -s "$T/out" ]
		[[ "$err" == "imgload: $f.dcm: "* ]] || { echo "$f: $err"; false; }
	done
	run_split "$BIN/imgload" -q size.dcm
	[[ "$err" == *"JPEG 2000 frame is 9x5, the image 9x6"* ]]
	run_split "$BIN/imgload" -q frames.dcm
	[[ "$err" == *"2 fragments for 3 frames and no usable offset table"* ]]
	mkenc ht.dcm 1.2.840.10008.1.2.4.201 5 9 1 8 MONOCHROME2 1 p.j2k    # HTJ2K: not in DCMTK 3.6.7
	run_split "$BIN/imgload" -q ht.dcm
	[ "$status" -eq 1 ]
	[[ "$err" == "imgload: ht.dcm: transfer syntax 1.2.840.10008.1.2.4.201 is not supported"* ]]
}
