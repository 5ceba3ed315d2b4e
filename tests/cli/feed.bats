#!/usr/bin/env bats
# Feeding a GPU (issue 19): imgload --jobs and augment --jobs write the same
# bytes for any N (the work runs on a workpool, the frames go out in input
# order), report the first bad input of the stream as --jobs 1 does, never
# hang on an error or a closed pipe; the frame writer grows its pipe and a
# reader never shrinks one.

setup() {
	load ../lib/io-common
	cd "$T"
}

PAPER=(--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip)

# same_for_jobs PROG ARGS... < INPUT: PROG's stdout, stderr and status are
# those of --jobs 1 for --jobs 2, 3 and 8
same_for_jobs() {
	local prog=$1 j in
	shift
	in=$T/same.in
	cat > "$in"
	run_split "$BIN/$prog" --jobs 1 "$@" < "$in"
	local st1=$status
	mv "$T/out" "$T/out.1"
	mv "$T/err" "$T/err.1"
	for j in 2 3 8; do
		run_split timeout 60 "$BIN/$prog" --jobs "$j" "$@" < "$in"
		[ "$status" -eq "$st1" ] || { echo "--jobs $j: status $status, --jobs 1: $st1"; false; }
		cmp "$T/out.1" "$T/out" || { echo "--jobs $j: stdout differs"; false; }
		diff "$T/err.1" "$T/err" || { echo "--jobs $j: stderr differs"; false; }
	done
	status=$st1
}

@test "imgload --jobs 1,2,3,8: the same bytes on the tutorial's images (epochs, shuffle, cache on and off)" {
	need_data
	same_for_jobs imgload -q --size 299 --epochs 2 --shuffle --seed 5 "$RADPIPE_DATA/TRAIN" < /dev/null
	[ "$status" -eq 0 ]
	[ -s "$T/out.1" ]
	same_for_jobs imgload -q --size 64x48 --interp area --cache-mb 0 --epochs 2 "$RADPIPE_DATA" < /dev/null
	[ "$status" -eq 0 ]
}

@test "imgload --jobs: the same bytes on 8/16-bit gray, RGB, RGBA PNGs and on DICOM (16-bit, 3 frames, JPEG-LS, RLE)" {
	mkdir -p d/a d/b
	for i in 1 2 3 4 5; do
		mkpng d/a/g8-$i.png $((20 + i)) 17 --channels 1 --seed $i
		mkpng d/a/g16-$i.png 19 $((11 + i)) --channels 1 --depth 16 --seed $i
		mkpng d/b/rgb-$i.png 23 $((9 + i)) --channels 3 --seed $i
		mkpng d/b/rgba16-$i.png 13 14 --channels 4 --depth 16 --seed $i
	done
	if command -v dump2dcm >/dev/null && command -v dcmcjpls >/dev/null; then
		$PY -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<%dH" % (3*9*7), *[(i * 263 * 37) % 65536 for i in range(3*9*7)]))' > p16.raw
		{
			echo '(0002,0010) UI =LittleEndianExplicit'
			echo '(0008,0016) UI =SecondaryCaptureImageStorage'
			echo '(0008,0018) UI [1.2.826.0.1.3680043.2.1143.7.7]'
			echo '(0010,0020) LO [PAT123]'
			echo '(0028,0002) US 1'
			echo '(0028,0004) CS [MONOCHROME2]'
			echo '(0028,0008) IS [3]'
			echo '(0028,0010) US 7'
			echo '(0028,0011) US 9'
			echo '(0028,0100) US 16'
			echo '(0028,0101) US 16'
			echo '(0028,0102) US 15'
			echo '(0028,0103) US 0'
			echo '(7fe0,0010) OW =p16.raw'
		} > m.dump
		dump2dcm -q m.dump d/a/m.dcm
		dcmcjpls d/a/m.dcm d/b/m-ls.dcm
		dcmcrle d/a/m.dcm d/b/m-rle.dcm
	fi
	same_for_jobs imgload --depth 16 --channels 1 d < /dev/null
	[ "$status" -eq 0 ]
	if [ -f d/b/m-ls.dcm ]; then grep -q '"m-ls.dcm#3"\|m-ls.dcm#3' "$T/out.1"; fi
	same_for_jobs imgload -q --size 16 --interp bilinear --epochs 3 --shuffle --seed 2 d < /dev/null
	[ "$status" -eq 0 ]
	[ "$(mkframes count < "$T/out.1")" -ge 60 ]
}

@test "imgload --jobs: a corrupt image in the middle stops the run at it, as --jobs 1 does; --skip-bad warns in order" {
	mkdir -p d/a
	for i in 0 1 2 3 4 5 6 7 8 9; do mkpng d/a/$i.png 300 300 --channels 3 --seed $i; done
	mkpng d/a/4.png 300 300 --break truncate
	mkpng d/a/7.png 20 20 --break crc
	same_for_jobs imgload d < /dev/null
	[ "$status" -eq 1 ]
	grep -q "d/a/4.png" "$T/err.1"
	! grep -q "d/a/7.png" "$T/err.1"
	same_for_jobs imgload --skip-bad --epochs 2 d < /dev/null
	[ "$status" -eq 0 ]
	[ "$(grep -c 'skipped' "$T/err.1")" -eq 4 ]
	[ "$(grep -n '4.png' "$T/err.1" | head -1 | cut -d: -f1)" -lt "$(grep -n '7.png' "$T/err.1" | head -1 | cut -d: -f1)" ]
}

@test "imgload --jobs: notes (--unlabeled skip) come in input order, as with --jobs 1" {
	mkdir -p d
	echo "name,class" > lab.csv
	for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
		mkpng d/$i.png 40 30 --channels 3 --seed $i
		[ $((i % 3)) = 0 ] || echo "$i.png,c$((i % 2))" >> lab.csv
	done
	same_for_jobs imgload --labels lab.csv --label-key name --unlabeled skip --epochs 2 --shuffle --seed 3 d < /dev/null
	[ "$status" -eq 0 ]
	[ "$(grep -c 'no label' "$T/err.1")" -eq 4 ]   # once: epoch 2 from the cache
}

@test "augment --jobs 1,2,3,8: the same bytes as before --jobs for samples, batches, u8/u16/f32, intensity" {
	need_numpy
	mkframes samples --n 24 --h 37 --w 29 --c 3 --epochs 2 --seed 1 > s8.mpk
	same_for_jobs augment --seed 7 "${PAPER[@]}" < s8.mpk
	[ "$status" -eq 0 ]
	# the seeds come from (seed, epoch, id): a stream augmented whole is
	# the stream augmented in pieces (no shared generator)
	mkframes slice 0 13 < s8.mpk | "$BIN/augment" --seed 7 "${PAPER[@]}" > p1.mpk
	mkframes slice 13 < s8.mpk | "$BIN/augment" --seed 7 "${PAPER[@]}" > p2.mpk
	cat p1.mpk p2.mpk | cmp - "$T/out.1"
	mkframes samples --n 9 --h 21 --w 18 --c 1 --dtype u16 --seed 2 > s16.mpk
	same_for_jobs augment --seed 3 "${PAPER[@]}" --brightness 0.3 --contrast 0.2 --gamma 0.8,1.2 --noise 0.01 --invert 0.5 < s16.mpk
	[ "$status" -eq 0 ]
	mkframes samples --n 7 --h 15 --w 16 --c 3 --dtype f32 --seed 3 > f32.mpk
	same_for_jobs augment --seed 3 "${PAPER[@]}" --fill reflect --interp nearest < f32.mpk
	[ "$status" -eq 0 ]
	{ mkframes batch --n 5 --h 12 --w 12 --c 3 --seed 4; mkframes batch --n 3 --h 12 --w 12 --c 3 --seed 5; } > b.mpk
	same_for_jobs augment --seed 9 "${PAPER[@]}" < b.mpk
	[ "$status" -eq 0 ]
}

@test "augment --jobs: a bad frame or a truncated stream is reported where --jobs 1 reports it" {
	need_numpy
	mkframes samples --n 6 --h 40 --w 40 --c 3 --seed 1 > good.mpk
	mkframes frame '{"kind": "sample", "id": 5, "x": {"$tensor": {"dtype": "u8", "shape": [4, 4, 3], "fill": 1}}}' > noid.mpk
	mkframes frame '{"kind": "sample", "id": "r", "x": {"$tensor": {"dtype": "u8", "shape": [4, 4], "fill": 1}}}' > rank2.mpk
	cat good.mpk noid.mpk good.mpk rank2.mpk > bad.mpk
	same_for_jobs augment --seed 1 "${PAPER[@]}" < bad.mpk
	[ "$status" -eq 1 ]
	grep -q "no string id" "$T/err.1"
	cat good.mpk good.mpk > two.mpk
	head -c $(( $(stat -c %s two.mpk) - 100 )) two.mpk > cut.mpk
	cat cut.mpk > cutin.mpk
	same_for_jobs augment --seed 1 "${PAPER[@]}" < cutin.mpk
	[ "$status" -eq 1 ]
	grep -q "frame 11" "$T/err.1"
	# a bad frame before the truncation: the bad frame is the one reported
	cat good.mpk rank2.mpk cut.mpk > both.mpk
	same_for_jobs augment --seed 1 "${PAPER[@]}" < both.mpk
	[ "$status" -eq 1 ]
	grep -q "frame 6: x is" "$T/err.1"
}

@test "--jobs: a closed pipe or a full disk ends the run (no hang), as with --jobs 1" {
	need_numpy
	mkdir -p d/a
	for i in 0 1 2 3 4 5 6 7; do mkpng d/a/$i.png 200 200 --channels 3 --seed $i; done
	mkframes samples --n 40 --h 200 --w 200 --c 3 --seed 1 > s.mpk
	for j in 1 4; do
		run timeout 60 bash -c "'$BIN/imgload' -q --jobs $j --epochs 50 --cache-mb 0 d | head -c 1000 > /dev/null; echo \${PIPESTATUS[0]}"
		[ "$status" -eq 0 ]
		[ "$output" -eq 141 ]
		run timeout 60 bash -c "'$BIN/augment' --jobs $j --seed 1 --rotate 10 < s.mpk | head -c 1000 > /dev/null; echo \${PIPESTATUS[0]}"
		[ "$status" -eq 0 ]
		[ "$output" -eq 141 ]
		run_split timeout 60 bash -c "'$BIN/imgload' -q --jobs $j --epochs 3 d > /dev/full"
		[ "$status" -eq 1 ]
		[[ "$err" == *"stdout: write error"* ]]
		run_split timeout 60 bash -c "'$BIN/augment' --jobs $j --seed 1 --rotate 10 < s.mpk > /dev/full"
		[ "$status" -eq 1 ]
		[[ "$err" == *"stdout: write error"* ]]
	done
}

@test "--jobs: bad values are usage errors; auto and 0 run" {
	mkpng a.png 8 8
	expect_usage_errors imgload /dev/null "--jobs -1 a.png" "--jobs 1025 a.png" "--jobs x a.png" "-j 2x a.png"
	expect_usage_errors augment /dev/null "--jobs -1" "--jobs 1025" "--jobs auto1"
	"$BIN/imgload" -q --jobs auto a.png > a1.mpk
	"$BIN/imgload" -q -j 0 a.png > a2.mpk
	"$BIN/imgload" -q a.png | cmp - a1.mpk
	cmp a1.mpk a2.mpk
	"$BIN/augment" -j auto --seed 1 --rotate 5 < a1.mpk | cmp - <("$BIN/augment" --seed 1 --rotate 5 < a1.mpk)
}

# F_GETPIPE_SZ and F_SETPIPE_SZ (Linux)
PIPE_SZ='import fcntl, sys
def size(fd): return fcntl.fcntl(fd, 1032)
'

@test "pipes: the writer's pipe holds at least 1 MiB (up to pipe-max-size); a reader never shrinks a pipe the writer grew" {
	need_numpy
	[ -r /proc/sys/fs/pipe-max-size ] || skip "needs Linux's /proc/sys/fs/pipe-max-size"
	max=$(cat /proc/sys/fs/pipe-max-size)
	mkframes samples --n 4 --h 299 --w 299 --c 3 --seed 1 > s.mpk
	# the reader reads everything first, then asks the size: imgload has
	# written (and grown the pipe) by then
	mkpng a.png 299 299 --channels 3
	sz=$("$BIN/augment" --seed 1 --rotate 5 < s.mpk | $PY -c "$PIPE_SZ
sys.stdin.buffer.read(); print(size(0))")
	want=$(( max < 1048576 ? max : 1048576 ))
	[ "$sz" -ge "$want" ] || { echo "pipe $sz < $want"; false; }
	[ "$sz" -le "$max" ] || [ "$sz" -le 1048576 ]
	# a writer that grew its pipe beyond 1 MiB (root may pass pipe-max-size):
	# batch reading it must leave it so
	run $PY -c "$PIPE_SZ
import subprocess, time
r, w = __import__('os').pipe()
try:
    fcntl.fcntl(w, 1031, 4 << 20)
except OSError:
    print('skip'); sys.exit(0)
p = subprocess.Popen(['$BIN/batch', '2'], stdin=r, stdout=subprocess.DEVNULL)
__import__('os').close(r)
time.sleep(1.0)
s = size(w)
__import__('os').write(w, open('s.mpk', 'rb').read()[:100])
__import__('os').close(w); p.wait()
print(s)"
	[ "$output" = skip ] && skip "cannot grow a pipe past 1 MiB here (not root)"
	[ "$output" -eq $((4 << 20)) ]
}

@test "pipes: growing the pipe changes nothing for files, /dev/full and closed pipes" {
	need_numpy
	mkframes samples --n 30 --h 299 --w 299 --c 3 --seed 1 > s.mpk
	"$BIN/augment" --seed 1 --rotate 5 < s.mpk > f.mpk
	"$BIN/augment" --seed 1 --rotate 5 < s.mpk | cat > p.mpk
	cmp f.mpk p.mpk
	run_split bash -c "'$BIN/augment' --seed 1 --rotate 5 < s.mpk > /dev/full"
	[ "$status" -eq 1 ]
	[[ "$err" == "augment: stdout: write error"* ]]
	run timeout 30 bash -c "'$BIN/augment' --seed 1 --rotate 5 < s.mpk | head -c 10 > /dev/null; echo \${PIPESTATUS[0]}"
	[ "$output" -eq 141 ]
	"$BIN/batch" 4 < f.mpk | cat > b.mpk
	[ "$(mkframes count < b.mpk)" -eq 8 ]
}

@test "imgload(1) and augment(1) describe --jobs" {
	check_man imgload
	check_man augment
	grep -q "same bytes" "$ROOT/man/man1/imgload.1"
	grep -q "same bytes" "$ROOT/man/man1/augment.1"
}
