#!/usr/bin/env bash
# shellcheck disable=SC2086  # $need is a list of make targets
# tests/gpu/run.sh OUTDIR — the checks that need an NVIDIA GPU, in one go
# (well inside 10 minutes on an H100/H200):
#   1. nvidia-smi                         -> OUTDIR/nvidia-smi.txt
#   2. build with CUDA=1 (or use the prebuilt copy, see below) -> OUTDIR/build.log
#   3. test_nn_ops (cuda only): every op vs ref in fp32/tf32/bf16/fp16
#                                         -> OUTDIR/test_nn_ops.log
#      test_nn_cuda: deterministic plans, loss scaling, graph replay == eager
#                                         -> OUTDIR/test_nn_cuda.log
#      test_nccl: NCCL's all-reduce on one GPU as one rank, and training
#      steps through it == without      -> OUTDIR/test_nccl.log
#      test_nn_patterns: residual, inverted residual and dense blocks (the
#      new layers) trained a step and Grad-CAM on cuda vs ref
#                                         -> OUTDIR/test_nn_patterns.log
#   4. bench_cuda: InceptionV3 images/s, training at batch 5/32/128 and
#      inference at 1/32/256, in fp32, tf32, bf16 and fp16, CUDA graphs on,
#      plus graphs off at batch 5 (train) and 1 (infer) -> OUTDIR/bench_cuda.md
#   5. PyTorch's InceptionV3 at the same settings (channels_last; AMP for
#      bf16/fp16), if python3 has torch -> OUTDIR/torch.md
#   6. a summary                          -> OUTDIR/summary.txt
# Exit status: 1 if the build, test_nn_ops, test_nn_cuda, test_nccl or
# test_nn_patterns failed,
# else 0.
#
# Where the machine lacks radpipe's other build dependencies (oneDNN,
# cmocka, ...), prepare a build on a machine that has them with
# tests/gpu/prepare.sh (default B=build-gpu), bring that folder along, and
# this script uses it as it is (RADPIPE_GPU_PREBUILT=0 forces a rebuild).
set -u -o pipefail

out=${1:?usage: tests/gpu/run.sh OUTDIR}
B=${B:-build-gpu}
mkdir -p "$out"
cd "$(dirname "$0")/../.." || exit 1
t0=$SECONDS
summary() { echo "$*" | tee -a "$out/summary.txt"; }
: > "$out/summary.txt"

{ nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } \
	> "$out/nvidia-smi.txt" 2>&1 || summary "nvidia-smi failed"

# cuDNN: the toolkit's, the system's, or a pip wheel's (nvidia-cudnn-cu13).
cuda_home=${CUDA_HOME:-/usr/local/cuda}
cudnn_home=
if [ ! -f "$cuda_home/include/cudnn.h" ] && [ ! -f /usr/include/cudnn.h ]; then
	cudnn_home=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])' 2>/dev/null)
	[ -n "$cudnn_home" ] && [ ! -f "$cudnn_home/include/cudnn.h" ] &&
		cudnn_home=$(dirname "$(dirname "$(find "$cudnn_home" -name cudnn.h | head -1)")")
fi
libpath=$cuda_home/lib64${cudnn_home:+:$cudnn_home/lib}:$PWD/$B/hostlibs
export LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export RADPIPE_CUDA_LIB=$PWD/$B/libradpipe_cuda.so

need="$B/libradpipe_cuda.so $B/tests/test_nn_ops $B/tests/test_nn_cuda $B/tests/test_nccl $B/tests/test_nn_patterns $B/bench/bench_cuda"
prebuilt=1
for f in $need; do [ -x "$f" ] || [ -f "$f" ] || prebuilt=0; done
if [ "${RADPIPE_GPU_PREBUILT:-1}" = 0 ] || [ $prebuilt = 0 ]; then
	make -j"$(nproc)" B="$B" CUDA=1 HAVE_CUDNN=1 ${cudnn_home:+CUDNN_HOME=$cudnn_home} \
		$need > "$out/build.log" 2>&1
	rc=$?
	summary "build: rc=$rc ($((SECONDS - t0)) s)"
	[ $rc = 0 ] || { tail -40 "$out/build.log"; exit 1; }
else
	echo "using the prebuilt $B (tests/gpu/prepare.sh)" > "$out/build.log"
	summary "build: prebuilt $B"
fi

RADPIPE_TEST_OPS_BACKENDS=cuda,cuda/tf32,cuda/bf16,cuda/fp16 TEST_VERBOSE=1 \
	timeout 180 "$B/tests/test_nn_ops" > "$out/test_nn_ops.log" 2>&1
ops_rc=$?
summary "test_nn_ops: rc=$ops_rc ($((SECONDS - t0)) s)"
grep -E "skipped|FAILED|PASSED|error .* >" "$out/test_nn_ops.log" | head -20 | tee -a "$out/summary.txt"
TEST_VERBOSE=1 timeout 180 "$B/tests/test_nn_cuda" > "$out/test_nn_cuda.log" 2>&1
test_rc=$?
summary "test_nn_cuda: rc=$test_rc ($((SECONDS - t0)) s)"
grep -E "SKIP|FAILED|PASSED|error .* >" "$out/test_nn_cuda.log" | head -20 | tee -a "$out/summary.txt"
TEST_VERBOSE=1 timeout 120 "$B/tests/test_nccl" > "$out/test_nccl.log" 2>&1
nccl_rc=$?
summary "test_nccl: rc=$nccl_rc ($((SECONDS - t0)) s)"
grep -E "SKIP|FAILED|PASSED" "$out/test_nccl.log" | head -10 | tee -a "$out/summary.txt"
timeout 120 "$B/tests/test_nn_patterns" > "$out/test_nn_patterns.log" 2>&1
pat_rc=$?
summary "test_nn_patterns: rc=$pat_rc ($((SECONDS - t0)) s)"
grep -E "vs ref|Grad-CAM|FAILED|PASSED" "$out/test_nn_patterns.log" | head -20 | tee -a "$out/summary.txt"

timeout 300 "$B/bench/bench_cuda" --time 1.5 -o "$out/bench_cuda.md" > "$out/bench.log" 2>&1
summary "bench_cuda: rc=$? ($((SECONDS - t0)) s)"
cat "$out/bench_cuda.md" >> "$out/summary.txt" 2>/dev/null
cat "$out/bench.log" >> "$out/build.log"; rm -f "$out/bench.log"

if python3 -c 'import torch, torchvision; assert torch.cuda.is_available()' 2>/dev/null &&
   [ $((SECONDS - t0)) -lt 450 ]; then
	timeout 120 python3 tests/gpu/torch_bench.py 1 > "$out/torch.md" 2>&1
	summary "torch: rc=$? ($((SECONDS - t0)) s)"
	cat "$out/torch.md" >> "$out/summary.txt"
else
	summary "torch: skipped (no torch+torchvision with CUDA, or no time left)"
fi
[ $test_rc = 0 ] && [ $ops_rc = 0 ] && [ $nccl_rc = 0 ] && [ $pat_rc = 0 ]
