#!/usr/bin/env bats
# structure.bats — lint tests of the code's structure (issue 16), on the
# built objects and the sources.  Each engineer names their tests
# "<area>: ...".

bats_require_minimum_version 1.5.0

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	BUILD="${RADPIPE_BUILD:-$ROOT/build}"
	[[ -z "${RADPIPE_BUILD:-}" && "${RADPIPE_BIN:-}" == *bin-san ]] && BUILD="$ROOT/build-san"
	command -v nm >/dev/null || skip "nm (binutils) is not installed"
	[ -f "$BUILD/libshared.a" ] && [ -f "$BUILD/libnn.a" ] || skip "not built (make)"
}

# The library objects that may end the program (err.h states the rule:
# library code returns errors, only a program's main decides to exit),
# "archive:object reason".  Objects of the CUDA backend are "cuda:NAME".
# "pending" entries are files other engineers of issue 16 are converting:
# remove an entry when its object no longer needs it.
allowed_exits() {
	cat <<'EOF'
libshared.a:err.o die, die_usage, die_write, stdout_check, stdout_finish and the x* allocators: the program-facing functions that end the program (err.h)
libshared.a:cli.o cli_* parse a program's command line: bad usage exits 2, --help and --version exit 0 (err.h)
libshared.a:guard.o _exit ends the forked decoder child (a separate process), never the program
libshared.a:gnuplot.o stdout_check: a write error on stdout (plot -o -) ends the program as SIGPIPE would (err.h)
libshared.a:frame.o frame_next dies on a bad frame by contract (err.h); frame_read returns the error
libshared.a:frame_write.o die_write on stdout as stdout_check (err.h); pending: stream engineer (die on file close/rename)
libshared.a:mp.o pending: stream engineer (frame_tensor dies on a bad tensor)
libshared.a:tensor.o pending: stream engineer (tensor_alloc dies on a bad rank or dimension)
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
	# the test above would pass vacuously if nm or the parsing failed
	exit_refs | grep -q '^libshared.a:err.o ' &&
	exit_refs | grep -Eq '^libshared.a:cli.o (die_usage|exit)$'
}

@test "engine: no dependency cycle in the engine, models, model files and trainer" {
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
	[ -f "$BUILD/libshared/nn/cpu/cpu.o" ] || skip "not built (make)"
	run bash -c "nm -A $(backend_objs | tr '\n' ' ') | grep -E ' U (exit|_exit|_Exit|abort|die|die_usage|err|errx)\$'"
	echo "$output"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

# Files call only downward: helpers, op files, then the table on top.
@test "backends: no dependency cycle between the objects of a backend" {
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
	cd "$ROOT"
	grep -q 'util' tests/gpu/emu/run.sh
	run grep -nE '^(cu_check_rt|cu_nonnull|cu_scratch|cu_grid1d|cu_grid2d|cu_fail)\(|int cu_capturing' tests/gpu/emu/*.c tests/gpu/emu/*.cpp
	echo "$output"
	[ "$status" -eq 1 ]
}
