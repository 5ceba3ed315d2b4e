#!/usr/bin/env bats
# structure.bats — lint tests of the code's structure (issue 16), on the
# built objects and the sources.  Each engineer names their tests
# "<area>: ...".

bats_require_minimum_version 1.5.0

setup() {
	load ../lib/io-common
	BUILD="${RADPIPE_BUILD:-$ROOT/build}"
	[[ -z "${RADPIPE_BUILD:-}" && "${RADPIPE_BIN:-}" == *bin-san ]] && BUILD="$ROOT/build-san"
	cd "$T"
}

# The tests on built objects: nm and a build are needed.
need_build() {
	command -v nm >/dev/null || skip "nm (binutils) is not installed"
	[ -f "$BUILD/libshared.a" ] && [ -f "$BUILD/libnn.a" ] || skip "not built (make)"
}

# The library objects that may end the program (err.h states the rule:
# library code returns errors, only a program's main decides to exit),
# "archive:object reason".  Objects of the CUDA backend are "cuda:NAME".
allowed_exits() {
	cat <<'EOF'
libshared.a:err.o die, die_usage, die_write, stdout_check, stdout_finish and the x* allocators: the program-facing functions that end the program (err.h)
libshared.a:cli.o cli_* parse a program's command line: bad usage exits 2, --help and --version exit 0 (err.h)
libshared.a:guard.o _exit ends the forked decoder child (a separate process), never the program
libnn.a:checkpoint.o _exit ends the forked checkpoint writer of nntrain (a separate process), never the program
libshared.a:gnuplot.o stdout_check: a write error on stdout (plot -o -) ends the program as SIGPIPE would (err.h)
libshared.a:frame.o frame_next and frame_tensor die on a bad frame by contract (err.h); frame_read and fv_tensor return the error
libshared.a:frame_write.o a stream writer (stdout) dies on a write error as stdout_check; frame_writer_close is the dying convenience of frame_writer_commit (err.h)
libshared.a:frame_build.o the fb_* builder dies only on its misuse (a bug, as an assert) or out of memory (err.h)
libshared.a:tensor.o tensor_alloc* die as the x* allocators (err.h)
EOF
}

# "archive:object symbol" for every library object that refers to a
# function that ends the program.
exit_refs() {
	local a f
	for a in libshared.a libnn.a; do
		nm -A "$BUILD/$a" 2>/dev/null
	done | sed -n "s|^$BUILD/\\([^:]*\\):\\([^:]*\\): *U \\(.*\\)$|\\1:\\2 \\3|p"
	for f in "$BUILD"/cuda/*.o; do
		[ -f "$f" ] || continue
		nm -u "$f" | awk -v o="cuda:${f##*/}" '{ print o, $NF }'
	done
}

@test "engine: library objects end the program only where err.h allows it" {
	need_build
	local syms='^(die|die_usage|die_write|exit|_exit|_Exit|quick_exit|stdout_check|stdout_finish)$'
	local refs bad=""
	refs=$(exit_refs | awk -v s="$syms" '$2 ~ s' | sort -u)
	[ -n "$(exit_refs)" ]   # nm read the archives
	while read -r obj sym; do
		[ -n "$obj" ] || continue
		allowed_exits | awk -v o="$obj" '$1 == o { f = 1 } END { exit !f }' ||
			bad+="$obj calls $sym"$'\n'
	done <<<"$refs"
	if [ -n "$bad" ]; then
		printf 'library code must return errors (err.h); not allowed:\n%s' "$bad"
		return 1
	fi
}

@test "engine: the lint sees a library object that calls die" {
	need_build
	# the test above would pass vacuously if nm or the parsing failed
	exit_refs | grep -q '^libshared.a:err.o ' &&
	exit_refs | grep -Eq '^libshared.a:cli.o (die_usage|exit)$'
}

@test "engine: no dependency cycle in the engine, models, model files and trainer" {
	need_build
	local o=("$BUILD"/libshared/nn/{engine,models,modelfile,train}/*.o)
	[ -f "${o[0]}" ] || skip "engine objects not built"
	run /usr/bin/python3 "$ROOT/tests/lint/objcycles.py" "${o[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
}

# The objects of the backends: ref, cpu, the backend chooser and the CUDA
# loader (in libnn), and the CUDA backend's own (libradpipe_cuda.so) when
# it was built.
backend_objs() {
	ls "$BUILD"/libshared/nn/ref/*.o "$BUILD"/libshared/nn/cpu/*.o \
		"$BUILD"/libshared/nn/backend.o "$BUILD"/libshared/nn/cuda_loader.o
	ls "$BUILD"/cuda/*.o 2>/dev/null || true
}

# backend.h's error rule: ops record their failure for be->error and
# return; only a program's main exits.
@test "backends: no backend object refers to exit, _exit, abort, die or die_usage" {
	need_build
	[ -f "$BUILD/libshared/nn/cpu/cpu.o" ] || skip "not built (make)"
	run bash -c "nm -A $(backend_objs | tr '\n' ' ') | grep -E ' U (exit|_exit|_Exit|abort|die|die_usage|err|errx)\$'"
	echo "$output"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

# Files call only downward: helpers, op files, then the table on top.
@test "backends: no dependency cycle between the objects of a backend" {
	need_build
	[ -f "$BUILD/libshared/nn/cpu/cpu.o" ] || skip "not built (make)"
	command -v python3 >/dev/null || skip "python3 is not installed"
	python3 "$ROOT/tests/lint/objcycles.py" "$BUILD"/libshared/nn/cpu/*.o "$BUILD"/libshared/nn/ref/*.o
	if ls "$BUILD"/cuda/*.o >/dev/null 2>&1; then
		python3 "$ROOT/tests/lint/objcycles.py" "$BUILD"/cuda/*.o
	fi
}

# backend.h's pattern: one static const table per backend, designated
# initializer, copied into the struct the constructor returns; no backend
# fills its table entry by entry.
@test "backends: every backend builds its ops table with one designated initializer" {
	need_build
	cd "$ROOT/libshared/nn"
	for f in ref/ref.c cpu/cpu.c cuda/backend.c; do
		grep -q '^static const struct nn_backend [a-z_]*_table = {$' "$f" || { echo "$f: no table"; false; }
		grep -qE '^\s*\*be = [a-z_]*_table;$' "$f" || { echo "$f: table not copied"; false; }
	done
	run grep -rnE 'be->(conv_fwd|alloc|adam|step_begin) = ' ref cpu cuda
	echo "$output"
	[ "$status" -eq 1 ]
}

# The CUDA helpers that need no device live in util.c, which the kernel
# emulator links: it must not define its own copies.
@test "backends: the kernel emulator links the CUDA helpers instead of copying them" {
	need_build
	cd "$ROOT"
	grep -q 'util' tests/gpu/emu/run.sh
	run grep -nE '^(cu_check_rt|cu_nonnull|cu_scratch|cu_grid1d|cu_grid2d|cu_fail)\(|int cu_capturing' tests/gpu/emu/*.c tests/gpu/emu/*.cpp
	echo "$output"
	[ "$status" -eq 1 ]
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
	[ "$(reencodes m.mpk)" -eq 5 ]          # evaluation, roc, calibration (width, mass), training_summary
	[ "$(reencodes b.mpk)" -eq 8 ]          # per epoch: the epoch frame, batches of 3, 3, 1
}

# ---- cli: one option table per program, shared groups, stdout closed ----

# item 3: one option table per program; cli_parse builds the getopt table,
# --help and --list-options from it
@test "cli: every program's options come from one table (no struct option, getopt or usage text of its own)" {
	cd "$ROOT"
	bad=$(grep -nE 'struct option\b|\bgetopt(_long)?(_only)?\s*\(|cli_getopt|\blongopts\b|\boptarg\b|usage\[\]' filters/*.c) &&
		{ echo "options outside the table: $bad"; false; }
	for f in filters/*.c; do
		[ "$(grep -c 'cli_parse(' "$f")" -eq 1 ] || { echo "$f: calls cli_parse $(grep -c 'cli_parse(' "$f") times"; false; }
		grep -q 'const struct cli_opt opts\[\] = {' "$f" || { echo "$f: no option table"; false; }
	done
}

# item 3: the groups several programs share are written once, in cli.h
@test "cli: --device, --threads, --precision, --seed, --classes and -o/--output are defined once (cli.h), not per program" {
	cd "$ROOT"
	bad=$(grep -nE 'CLI_[A-Z0-9]+\("(device|threads|precision|seed|classes|output)"' filters/*.c) &&
		{ echo "a shared option defined in a program: $bad"; false; }
	for p in nntrain nninfer; do
		"$BIN/$p" --help | grep -qx '  --device D            cpu (default), ref, cuda or auto'
		"$BIN/$p" --help | grep -qx '  --threads N           CPU threads (default: all cores)'
	done
	[ "$("$BIN/nntrain" --help | grep -A1 -- --precision)" = "$("$BIN/nninfer" --help | grep -A1 -- --precision)" ]
}

# item 4: one helper closes stdout, in every program
@test "cli: every program ends by closing stdout with stdout_finish" {
	cd "$ROOT"
	for f in filters/*.c; do
		grep -q 'stdout_finish();' "$f" || { echo "$f: no stdout_finish"; false; }
	done
}

# item 3/5: --help lists every option of the table, and each program's man
# page names each (check_man: mandoc -Tlint clean too)
@test "cli: every program's man page names each option of its --help" {
	for f in "$ROOT"/filters/*.c; do
		check_man "$(basename "$f" .c)"
	done
}

# the table's parser names what is wrong with an option, for every program
@test "cli: a bad option exits 2 with an empty stdout, saying unknown, missing value or takes no value" {
	for p in $(for f in "$ROOT"/filters/*.c; do basename "$f" .c; done); do
		run --separate-stderr "$BIN/$p" --no-such-option < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: --no-such-option: unknown option"* ]] || { echo "$p: $stderr"; false; }
		run --separate-stderr "$BIN/$p" -Z < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: -Z: unknown option"* ]] || { echo "$p: $stderr"; false; }
		run --separate-stderr "$BIN/$p" --quiet=1 < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: --quiet=1: the option takes no value"* ]] || { echo "$p: $stderr"; false; }
	done
	run --separate-stderr "$BIN/nntrain" --lr
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == "nntrain: --lr: missing value"* ]]
	run --separate-stderr "$BIN/plot" --roc -o
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == "plot: -o: missing value"* ]]
}

# Two library objects defining one global symbol link silently: the
# program gets whichever archive comes first (it happened: the trainer's
# and metrics' ml_evaluate).
@test "engine: no global symbol is defined by two objects of libshared.a and libnn.a" {
	need_build
	nm -A --defined-only -g "$BUILD/libshared.a" "$BUILD/libnn.a" 2>/dev/null > syms
	[ -s syms ]
	run awk 'NF >= 3 && $(NF-1) ~ /^[TDBRC]$/ { n[$NF]++; w[$NF] = w[$NF] " " $1 }
	    END { for (s in n) if (n[s] > 1) print s ":" w[s] }' syms
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
