#!/usr/bin/env bash
# tests/gpu/prepare.sh — builds what tests/gpu/run.sh runs (B=build-gpu by
# default) on a machine with radpipe's build dependencies, for a GPU machine
# that lacks them: libradpipe_cuda.so (sm_90 + compute_80 PTX), test_nn_ops, test_nn_cuda, test_nccl,
# bench_cuda, and in $B/hostlibs the shared libraries those programs need
# beyond glibc, libstdc++ and CUDA (oneDNN, cmocka, ...).  Bring $B along
# (it is git-ignored) and run tests/gpu/run.sh OUTDIR there.
set -eu -o pipefail
cd "$(dirname "$0")/../.."
B=${B:-build-gpu}
make -j"$(nproc)" B="$B" CUDA=1 "$B/libradpipe_cuda.so" "$B/tests/test_nn_ops" "$B/tests/test_nn_cuda" "$B/tests/test_nccl" "$B/tests/test_nn_patterns" "$B/bench/bench_cuda"
mkdir -p "$B/hostlibs"
ldd "$B/tests/test_nn_ops" "$B/tests/test_nn_cuda" "$B/tests/test_nccl" "$B/tests/test_nn_patterns" "$B/bench/bench_cuda" | awk '$3 ~ /^\// { print $3 }' | sort -u |
	grep -Ev '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so' |
	while read -r lib; do cp -L "$lib" "$B/hostlibs/"; done
du -sh "$B" "$B/hostlibs"
ls "$B/hostlibs"
