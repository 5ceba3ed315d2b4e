#!/usr/bin/env bats
# The stream between programs: any msgpack library reads it (Debian's
# python3-msgpack via tests/py/read_stream.py), streams concatenate, the
# programs chain, and write errors (closed pipe, full disk) are errors.

bats_require_minimum_version 1.5.0

setup() {
	load ../lib/io-common
	cd "$T"
}

# python3-msgpack alone reads imgload's frames; its means agree with peek's
@test "python3-msgpack reads a radpipe stream with no radpipe code" {
	need_data
	$PY -c 'import msgpack' || skip "no python3 with msgpack"
	"$BIN/imgload" -q --size 299 "$RADPIPE_DATA/VAL" > val.mpk
	read_stream < val.mpk > py.txt
	[ "$(tail -1 py.txt)" = "frames 10" ]
	[ "$(grep -c 'x=u8\[299,299,3\]' py.txt)" -eq 10 ]
	"$BIN/peek" val.mpk | sed -E 's/.*\{min [0-9.]+ max [0-9.]+ mean ([0-9.e+-]+)\}.*/\1/' > c.means
	sed -n 's/.* mean=//p' py.txt > py.means
	diff c.means py.means
}

# without the data set: PNGs made here, read through imgload and Python
@test "read_stream.py checks every frame (made-up images)" {
	mkdir -p d/x d/y
	mkpng d/x/1.png 4 3 --channels 3
	mkpng d/y/2.png 4 3 --depth 16
	"$BIN/imgload" -q --depth 16 --epochs 2 d | read_stream > out.txt
	[ "$(tail -1 out.txt)" = "frames 6" ]
	grep -q '^1 sample id=x/1.png label=0 class=x x=u8\[3,4,3\] mean=' out.txt
	grep -q '^2 sample id=y/2.png label=1 class=y x=u16\[3,4,3\] mean=' out.txt
	# and it refuses what is not a radpipe stream
	printf '\x92\x01\x02' > bad.mpk
	run read_stream < bad.mpk
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a map with a string 'kind'"* ]]
}

# the front half of the paper's pipeline: 2 epochs of 13 batches of 5
@test "imgload | batch 5 | peek: the training stream" {
	need_data
	"$BIN/imgload" -q --size 299 --epochs 2 --shuffle --seed 1 "$RADPIPE_DATA/TRAIN" |
		"$BIN/batch" 5 | "$BIN/peek" > text
	[ "$(grep -c ' epoch ' text)" -eq 2 ]
	[ "$(grep -c 'x=u8\[5,299,299,3\]' text)" -eq 26 ]
	[ "$(wc -l < text)" -eq 28 ]
}

# streams have no header: cat of two streams is a stream
@test "streams concatenate" {
	need_data
	"$BIN/imgload" -q --size 32 "$RADPIPE_DATA/VAL" > a.mpk
	"$BIN/imgload" -q --size 32 "$RADPIPE_DATA/TEST" > b.mpk
	cat a.mpk b.mpk a.mpk | "$BIN/batch" 4 > c.mpk
	run "$BIN/peek" --count c.mpk
	[ "$output" = "batch 6" ]
	cat a.mpk b.mpk | "$BIN/peek" --pass 2>/dev/null | cmp - <(cat a.mpk b.mpk)
}

# a reader that goes away ends a filter quietly, as it ends cat: killed by
# SIGPIPE (status 141, which pipefail reports), no message (issue 14.11)
@test "a closed pipe: imgload on the data set ends quietly with status 141" {
	need_data
	run --separate-stderr bash -c '"$0" -q --size 299 --epochs 3 "$1/TRAIN" | head -c 10 > /dev/null; echo "status ${PIPESTATUS[0]}"' \
	    "$BIN/imgload" "$RADPIPE_DATA"
	[ "$output" = "status 141" ]
	[ -z "$stderr" ]
}

@test "a closed pipe without the data set: every writer ends with 141 and no message" {
	mkdir -p d/c && mkpng d/c/1.png 64 64
	"$BIN/imgload" -q --epochs 400 d > big.mpk
	# closed_pipe CMD...: CMD's status when its reader goes, then its stderr
	closed_pipe() { "$@" < big.mpk 2>err.txt | head -c 10 > /dev/null; echo "${PIPESTATUS[0]}"; cat err.txt; }
	run closed_pipe "$BIN/imgload" -q --epochs 400 d
	[ "$output" = 141 ]
	run closed_pipe "$BIN/batch" 1
	[ "$output" = 141 ]
	run closed_pipe "$BIN/augment" --seed 1 --hflip
	[ "$output" = 141 ]
	run closed_pipe "$BIN/peek" big.mpk
	[ "$output" = 141 ]
	run closed_pipe "$BIN/peek" --pass --count
	[ "$output" = 141 ]
	# text output through stdio: peek's lines, metrics' report, --help
	# (3000 predictions: the ROC text is larger than a pipe's 64 KiB buffer,
	# so the writer always meets the closed pipe)
	for i in $(seq 3000); do echo "{\"kind\":\"prediction\",\"id\":\"$i\",\"label\":$((i % 2)),\"score\":0.$i}"; done |
		mkframes pack > p.mpk
	run bash -c '"$0" --format json --roc "$1" 2>err.txt | head -c 1 > /dev/null; echo "${PIPESTATUS[0]}"; cat err.txt' \
	    "$BIN/metrics" p.mpk
	[ "$output" = 141 ]
	run bash -c '"$0" -f tsv --roc "$1" 2>err.txt | true; echo "${PIPESTATUS[0]}"; cat err.txt' "$BIN/metrics" p.mpk
	[ "$output" = 141 ]
	# any other write error still says so and exits 1
	run bash -c '"$0" 1 < "$1" > /dev/full' "$BIN/batch" big.mpk
	[ "$status" -eq 1 ]
	[[ "$output" == *"batch: stdout: write error: No space left on device"* ]]
}

# a full disk is an error too
@test "a full disk (/dev/full): exit 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	mkdir -p d/c && mkpng d/c/1.png 64 64
	run bash -c '"$0" -q "$1" > /dev/full' "$BIN/imgload" d
	[ "$status" -eq 1 ]
	[[ "$output" == *"write error: No space left on device"* ]]
	"$BIN/imgload" -q d > s.mpk
	run bash -c '"$0" 1 < "$1" > /dev/full' "$BIN/batch" s.mpk
	[ "$status" -eq 1 ]
	[[ "$output" == *"write error: No space left on device"* ]]
	run bash -c '"$0" --pass < "$1" > /dev/full 2>/dev/null; echo $?' "$BIN/peek" s.mpk
	[ "$output" = 1 ]
}

# issue 16.4: every program ends with stdout_finish, so a full disk is an
# error wherever its output comes from (stdio text, a frame writer, --help)
@test "a full disk (/dev/full): every program says 'stdout: write error' and exits 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	full() { run --separate-stderr bash -c '"$@" > /dev/full' full "$@"; }
	is_full_error() {
		[ "$status" -eq 1 ] || { echo "$1: status $status"; false; }
		[[ "$stderr" == *"$(basename "$1"): stdout: write error: No space left on device"* ]] ||
			{ echo "$1: $stderr"; false; }
	}
	for p in $(for f in "$ROOT"/filters/*.c; do basename "$f" .c; done); do
		full "$BIN/$p" --help
		is_full_error "$BIN/$p"
		full "$BIN/$p" --version
		is_full_error "$BIN/$p"
	done
	mkdir -p d/c && mkpng d/c/1.png 64 64
	"$BIN/imgload" -q d > s.mpk
	full "$BIN/augment" --seed 1 --hflip < s.mpk
	is_full_error "$BIN/augment"
	full "$BIN/peek" s.mpk
	is_full_error "$BIN/peek"
	printf '{"kind":"prediction","id":"a","label":1,"score":0.9}\n{"kind":"prediction","id":"b","label":0,"score":0.2}\n' |
		mkframes pack > p.mpk
	full "$BIN/metrics" -f text p.mpk
	is_full_error "$BIN/metrics"
	full "$BIN/metrics" -f frames p.mpk
	is_full_error "$BIN/metrics"
	"$BIN/metrics" -f frames --roc p.mpk > roc.mpk
	full "$BIN/plot" --roc -f dumb -o - roc.mpk
	is_full_error "$BIN/plot"
	full "$BIN/plot" --montage 1 -o - s.mpk
	is_full_error "$BIN/plot"
}

@test "a full disk and a closed pipe: nntrain, nninfer and nnimport" {
	[ -w /dev/full ] || skip "no /dev/full"
	need_data
	full() { run --separate-stderr bash -c '"$@" > /dev/full' full "$@"; }
	closed() { run --separate-stderr bash -c '"$@" | true; echo "${PIPESTATUS[0]}"' closed "$@"; }
	"$BIN/imgload" -q --size 32 "$RADPIPE_DATA/VAL" > v.mpk
	"$BIN/batch" 5 < v.mpk > vb.mpk
	full "$BIN/nntrain" -q --arch small_cnn --seed 3 --save m.mpk < vb.mpk
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nntrain: stdout: write error: No space left on device"* ]]
	closed "$BIN/nntrain" -q --arch small_cnn --seed 3 < vb.mpk
	[ "$output" = 141 ] && [ -z "$stderr" ]
	"$BIN/nntrain" -q --arch small_cnn --seed 3 --save m.mpk < vb.mpk > /dev/null
	full "$BIN/nninfer" --model m.mpk < v.mpk
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nninfer: stdout: write error: No space left on device"* ]]
	closed "$BIN/nninfer" --model m.mpk < v.mpk
	[ "$output" = 141 ] && [ -z "$stderr" ]
	w=$(weights_file keras2_mobilenet_0.25_notop_fixture.h5) || skip "no Keras weights fixture"
	full "$BIN/nnimport" --list "$w"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nnimport: stdout: write error: No space left on device"* ]]
}

# the frame size limit applies to every reader
@test "RADPIPE_MAX_FRAME limits the frames a reader takes" {
	mkdir -p d/c && mkpng d/c/1.png 64 64
	"$BIN/imgload" -q d > s.mpk
	RADPIPE_MAX_FRAME=1000 run "$BIN/peek" s.mpk
	[ "$status" -eq 1 ]
	[[ "$output" == *"frame exceeds the size limit of 1000 bytes"* ]]
	RADPIPE_MAX_FRAME=100000 run "$BIN/peek" --count s.mpk
	[ "$status" -eq 0 ]
	[ "$output" = "sample 1" ]
}
