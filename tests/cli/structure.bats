#!/usr/bin/env bats
# The structure of the code (issue 16): checks on the sources and the build
# rather than on one program.  Each engineer's tests are self-contained and
# named by area ("stream: ...").

setup() {
	load ../lib/io-common
	cd "$T"
}

# ---- stream: programs touch the stream only through frame.h ----

@test "stream: no program source names msgpack" {
	run grep -l msgpack "$ROOT"/filters/*.c
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

# Every header a program includes, system headers too, as the compiler
# sees them with the Makefile's CPPFLAGS (the .d files of a build say the same).
@test "stream: no header a program includes pulls in msgpack.h" {
	local flags f
	flags=$(make -s -C "$ROOT" -f Makefile -f - print-stream-cppflags <<<'print-stream-cppflags: ; @echo $(CPPFLAGS)' 2>/dev/null | tail -n 1)
	[ -n "$flags" ]
	for f in "$ROOT"/filters/*.c; do
		(cd "$ROOT" && ${CC:-cc} -std=c11 -M $flags "$f") > deps || { cat deps; false; }
		if grep -q msgpack deps; then
			echo "$f includes: $(tr ' \\' '\n\n' < deps | grep msgpack | head -3)"
			false
		fi
	done
}

# tests/lint/objcycles.py on the stream layer and the rest of libshared
# outside the engine: no object calls into one that calls back into it.
@test "stream: libshared's objects outside the engine have no dependency cycle" {
	command -v nm >/dev/null || skip "needs nm"
	ls "$ROOT"/build/libshared/frame.o >/dev/null 2>&1 || skip "needs a build (make)"
	run /usr/bin/python3 "$ROOT/tests/lint/objcycles.py" "$ROOT"/build/libshared/*.o
	echo "$output"
	[ "$status" -eq 0 ]
}

# Each frame of stream FILE, decoded and packed again by python3-msgpack
# (smallest integers, float64, str8, bin), gives the same bytes: the frame
# builder encodes as radpipe-stream(5) says.  Prints the frame count.
reencodes() {
	$PY -c '
import msgpack, sys
data = open(sys.argv[1], "rb").read()
u = msgpack.Unpacker(raw=False, strict_map_key=False)
u.feed(data)
pos, n = 0, 0
for f in u:
    end = u.tell()
    again = msgpack.packb(f)
    if again != data[pos:end]:
        sys.exit("%s: frame %d (%s) re-encodes differently" % (sys.argv[1], n, f.get("kind")))
    pos, n = end, n + 1
print(n)' "$1"
}

@test "stream: every program's frames re-encode byte for byte in python3-msgpack" {
	need_numpy
	mkdir -p set/a set/b
	mkpng set/a/1.png 9 7 --seed 1
	mkpng set/b/2.png 6 5 --channels 3 --depth 16 --seed 3
	"$BIN/imgload" -q --size 4x6 --epochs 2 set > img.mpk
	"$BIN/imgload" -q --depth 16 set/b/2.png > img16.mpk
	mkframes samples --n 7 --epochs 2 --meta '{"src": "t", "augment": [{"seed": 5}]}' > s.mpk
	"$BIN/augment" --seed 3 --rotate 20 --zoom 0.1 --hflip --invert 0.5 --gamma 0.8,1.2 < s.mpk > aug.mpk
	"$BIN/batch" 3 < aug.mpk > b.mpk
	"$BIN/augment" --seed 4 --shift 0.1 --brightness 0.2 --noise 0.01 < b.mpk > ab.mpk
	"$BIN/peek" --pass < ab.mpk > pass.mpk 2>/dev/null
	cmp ab.mpk pass.mpk
	$PY -c '
import msgpack, sys
for i in range(40):
    y = i % 2
    s = ((i * 37) % 100) / 100
    f = {"kind": "prediction", "id": "p%d" % i, "label": y, "class": "ab"[y],
         "score": s, "pred": int(s >= 0.5), "pred_class": "ab"[int(s >= 0.5)], "threshold": 0.5}
    sys.stdout.buffer.write(msgpack.packb(f))
for i in range(3):
    f = {"kind": "metrics", "epoch": i + 1, "epochs": 3, "loss": 1 / (i + 1), "acc": 0.5 + i / 10}
    sys.stdout.buffer.write(msgpack.packb(f))' > pred.mpk
	"$BIN/metrics" -q -f frames --roc -B 50 pred.mpk > m.mpk
	for f in img img16 aug b ab m; do
		run reencodes $f.mpk
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$output" -gt 0 ]
	done
	[ "$(reencodes m.mpk)" -eq 3 ]          # evaluation, roc, training_summary
	[ "$(reencodes b.mpk)" -eq 8 ]          # per epoch: the epoch frame, batches of 3, 3, 1
}
