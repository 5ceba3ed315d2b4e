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
