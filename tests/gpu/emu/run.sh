#!/usr/bin/env bash
# shellcheck disable=SC2086,SC2046  # flag lists split on purpose
# tests/gpu/emu/run.sh [B] — checks the CUDA backend's own kernels WITHOUT a
# GPU: each .cu file (except the cuDNN/cuBLAS parts, which are C files and
# are not emulated; util.c, wcache.c and graph.c, plain C that needs no
# device of its own, are compiled and linked as they are) is rewritten
# for the host (launch2host.py), compiled by
# g++ against emu.h (a CUDA thread is a std::thread, a block runs at a time,
# __syncthreads is a barrier), and run through test_nn_ops.c against the
# ref backend (emu_ops; nn_cuda_open is emu_backend.c's) and the
# emulator's own tests with test_nn_cuda.c's (emu_test.c), and
# test_nn_patterns.c (residual, inverted residual and dense blocks trained a
# step on the emulated kernels against ref).  It checks indexing, strides and
# semantics; not timing, device math rounding or FMA contraction.
# Needs the CUDA headers and an up-to-date $B/libnn.a and $B/libshared.a
# (make B=...); takes a few minutes (6 on 2 busy cores with test_nn_patterns).
set -eu -o pipefail
cd "$(dirname "$0")/../../.."
B=${1:-build}
cuda=${CUDA_HOME:-/usr/local/cuda}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc="-Itests/gpu/emu -I$tmp -I$cuda/include -Ilibshared -Ilibshared/nn/cuda"
objs=
for cu in libshared/nn/cuda/*.cu; do
	f=$(basename "$cu" .cu)
	python3 tests/gpu/emu/launch2host.py "$cu" "$tmp/$f.cpp"
	g++ -std=c++20 -O1 -g -w $inc -c "$tmp/$f.cpp" -o "$tmp/$f.o"
	objs="$objs $tmp/$f.o"
done
g++ -std=c++20 -O1 -g -w $inc -c tests/gpu/emu/emu.cpp -o "$tmp/emu.o"
for c in util wcache graph; do
	gcc -std=gnu11 -O1 -g -w $inc -c libshared/nn/cuda/$c.c -o "$tmp/$c.o"
done
for c in emu_backend emu_test; do
	gcc -std=gnu11 -O1 -g -w $inc -c tests/gpu/emu/$c.c -o "$tmp/$c.o"
done
gcc -std=gnu11 -O1 -g -w $inc -c tests/unit/test_nn_ops.c -o "$tmp/test_nn_ops.o"
gcc -std=gnu11 -O1 -g -w $inc -c tests/unit/test_nn_patterns.c -o "$tmp/test_nn_patterns.o"
libs="$B/libnn.a $B/libshared.a -ldnnl -fopenmp -lcmocka -lm -lpthread
	$(pkg-config --libs libpng msgpack 2>/dev/null)
	$(pkg-config --libs hdf5-serial 2>/dev/null || echo -lhdf5)"
common="$tmp/emu_backend.o $tmp/emu.o $tmp/util.o $tmp/wcache.o $tmp/graph.o $objs"
g++ -o "$tmp/emu_test" "$tmp/emu_test.o" $common $libs
g++ -o "$tmp/emu_ops" "$tmp/test_nn_ops.o" $common $libs
g++ -o "$tmp/emu_patterns" "$tmp/test_nn_patterns.o" $common $libs
"$tmp/emu_test"
RADPIPE_TEST_OPS_BACKENDS=cuda "$tmp/emu_ops"
"$tmp/emu_patterns"    # the ResNet/MobileNetV2/DenseNet patterns, cuda = the emulator
