# The CUDA backend: $(B)/libradpipe_cuda.so, built from libshared/nn/cuda/
# when WITH_CUDA=1 (the Makefile sets it from CUDA=auto|0|1).  radpipe
# itself never links CUDA: libshared/nn/cuda_loader.c dlopen()s the object
# (see that file for where it looks), so the same binaries run without a GPU.
#
#   CUDA_ARCH   nvcc -gencode flags (default: sm_90 code for H100/H200 plus
#               compute_80 PTX that the driver JIT-compiles for other GPUs)
#   NVCCFLAGS   extra nvcc flags
#   CUDNN_HOME  where cuDNN lives when not in the toolkit or /usr (its
#               include/ and lib/), e.g. a pip nvidia-cudnn wheel

CUDA_SO    := $(B)/libradpipe_cuda.so
NN_LDLIBS  += -ldl

ifeq ($(WITH_CUDA),1)

CUDA_ARCH  ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=compute_80
NVCCFLAGS  ?= -O3 -lineinfo
CUDA_INC   := -I$(CUDA_HOME)/include $(if $(CUDNN_HOME),-I$(CUDNN_HOME)/include) -Ilibshared
CUDA_LIBDIR := $(firstword $(wildcard $(CUDA_HOME)/lib64 $(CUDA_HOME)/lib))
CUDA_LINK  := -L$(CUDA_LIBDIR) -Xlinker -rpath=$(CUDA_LIBDIR) \
              $(if $(CUDNN_HOME),-L$(CUDNN_HOME)/lib -Xlinker -rpath=$(CUDNN_HOME)/lib)

CUDA_CU    := $(sort $(wildcard libshared/nn/cuda/*.cu))
CUDA_CSRC  := $(sort $(wildcard libshared/nn/cuda/*.c))
CUDA_O     := $(CUDA_CU:libshared/nn/cuda/%.cu=$(B)/cuda/%.cu.o) \
              $(CUDA_CSRC:libshared/nn/cuda/%.c=$(B)/cuda/%.c.o)

CUDA_HDRS  := libshared/nn/cuda/cuda_impl.h libshared/nn/backend.h libshared/hostdev.h \
              libshared/philox.h libshared/nn/ref/loss_math.h

$(B)/cuda/%.cu.o: libshared/nn/cuda/%.cu $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(NVCC) $(CUDA_ARCH) $(NVCCFLAGS) -std=c++17 $(CUDA_INC) \
		-Xcompiler -fPIC,-fvisibility=hidden,-Wall -c $< -o $@

$(B)/cuda/%.c.o: libshared/nn/cuda/%.c $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(OPT) -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -fPIC \
		-fvisibility=hidden $(CUDA_INC) -c $< -o $@

# NCCL (data-parallel nntrain, cuda/nccl.c): optional, from the CUDA
# installation (or NCCL_HOME); without nccl.h the ops say so at run time.
NCCL_HOME  ?= $(CUDA_HOME)
HAVE_NCCL  := $(if $(wildcard $(NCCL_HOME)/include/nccl.h),1)
$(B)/cuda/nccl.c.o: CUDA_INC += $(if $(HAVE_NCCL),-DRADPIPE_NCCL -I$(NCCL_HOME)/include)
NCCL_LINK  := $(if $(HAVE_NCCL),-L$(firstword $(wildcard $(NCCL_HOME)/lib64 $(NCCL_HOME)/lib)) -lnccl)

# The CUDA runtime is linked statically (nvcc's default) and its symbols
# kept private; cuDNN, cuBLAS and NCCL are found through RUNPATH or ld.so.
$(CUDA_SO): $(CUDA_O)
	@mkdir -p $(@D)
	$(NVCC) $(CUDA_ARCH) -shared -o $@ $^ $(CUDA_LINK) -lcudnn -lcublas $(NCCL_LINK) \
		-Xlinker --exclude-libs,ALL -Xlinker -z,defs

all: $(CUDA_SO)

# The loader's fallback path is this build's copy.
$(B)/libshared/nn/cuda_loader.o: CPPFLAGS += -DRADPIPE_CUDA_SO='"$(abspath $(CUDA_SO))"'
$(B)/tests/test_nn_cuda: | $(CUDA_SO)
$(B)/tests/test_nn_ops: | $(CUDA_SO)
$(B)/tests/test_nccl: | $(CUDA_SO)

endif

# The loader's compiled-in path depends on WITH_CUDA: rebuild it when that flips.
$(B)/libshared/nn/cuda_loader.o: $(B)/cuda.flag
$(B)/cuda.flag: FORCE_CUDA_FLAG
	@mkdir -p $(@D)
	@echo 'WITH_CUDA=$(WITH_CUDA) $(abspath $(CUDA_SO))' | cmp -s - $@ || echo 'WITH_CUDA=$(WITH_CUDA) $(abspath $(CUDA_SO))' > $@
.PHONY: FORCE_CUDA_FLAG

# make bench-cuda: InceptionV3 images/s on the GPU -> bench/results/cuda.md
# (prints SKIP and succeeds without a GPU).  BENCH_CUDA_ARGS: see bench/bench_cuda.c.
BENCH_CUDA_ARGS ?=
$(B)/bench/bench_cuda: $(B)/bench/bench_cuda.o $(LIBNN) $(LIBSHARED) $(if $(filter 1,$(WITH_CUDA)),| $(CUDA_SO))
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(LDLIBS)

.PHONY: bench-cuda
bench-cuda: $(B)/bench/bench_cuda
	@mkdir -p bench/results
	$(B)/bench/bench_cuda $(BENCH_CUDA_ARGS) -o bench/results/cuda.md
ifeq ($(WITH_CUDA),1)
BENCH_TARGETS += bench-cuda
endif

# make test-cuda-emu: the backend's own kernels on a host emulator, against
# ref (no GPU needed; see tests/gpu/emu/run.sh).  Not part of `make test`.
.PHONY: test-cuda-emu
test-cuda-emu: $(LIBNN) $(LIBSHARED)
	tests/gpu/emu/run.sh $(B)
