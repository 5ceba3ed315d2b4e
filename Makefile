# radpipe — GNU Makefile.
#   make              build libshared, the engine and every program into bin/
#   make test         all tests (unit, command line, reference numerics)
#   make bench        benchmarks; results are written under bench/results/
#   make fuzz         build and run the libFuzzer targets for a short while
#   make demo         the paper, end to end (see pipelines/)
#   make install      PREFIX=/usr/local DESTDIR=: programs, pipelines, man
#                     pages, bash completion, CUDA backend; make uninstall
#                     (mk/install.mk)
#   CUDA=auto|0|1     build the CUDA backend: auto = when nvcc and cudnn.h are found
#   SAN=1             ASan + UBSan build in build-san/ and bin-san/ (mk/san.mk);
#                     `make SAN=1 test` runs the whole suite on it
#
# Components add themselves through mk/*.mk fragments (one per component), so
# that adding a filter, a test or a backend never edits this file.

SHELL      := /bin/bash
CC         ?= cc
CXX        ?= c++
OPT        ?= -O2
CFLAGS     ?= $(OPT) -g
CFLAGS     += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -pthread -MMD -MP
CXXFLAGS   ?= $(OPT) -g
CXXFLAGS   += -std=c++17 -Wall -Wextra -Wno-unused-parameter -pthread -MMD -MP
CPPFLAGS   += -Ilibshared $(shell pkg-config --cflags libpng msgpack 2>/dev/null)
LDFLAGS    += -pthread -Wl,--as-needed
LDLIBS     += $(shell pkg-config --libs libpng msgpack 2>/dev/null) -lm

B          := build
OUT_BIN    := bin

# SAN=1: sanitizers, in their own build and bin folders (flags in mk/san.mk).
SAN        ?= 0
ifeq ($(SAN),1)
  B        := build-san
  OUT_BIN  := bin-san
  CUDA     := 0
endif

# ---- Debian packages: checked when something is built, never when the
# Makefile is read, so that `make demo` and `make test` can install them
# first (pipelines/deps).  need_header,HEADER,PACKAGE records a missing one.
INCLUDE_ROOT ?= /usr/include
MISSING_PKGS :=
need_header = $(if $(wildcard $(INCLUDE_ROOT)/$(1)),,$(eval MISSING_PKGS += $(2)))
$(call need_header,png.h,libpng-dev)
$(call need_header,msgpack.h,libmsgpack-dev)
$(call need_header,zlib.h,zlib1g-dev)
$(call need_header,cmocka.h,libcmocka-dev)
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CPPFLAGS   += -DRADPIPE_VERSION='"$(VERSION)"'

# ---- CUDA detection (the backend itself lives in mk/cuda.mk) ----
CUDA       ?= auto
NVCC       ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA_HOME  ?= $(if $(NVCC),$(patsubst %/bin/nvcc,%,$(NVCC)),/usr/local/cuda)
HAVE_CUDNN := $(shell test -f $(CUDA_HOME)/include/cudnn.h -o -f /usr/include/cudnn.h && echo 1)
ifeq ($(CUDA),auto)
  WITH_CUDA := $(if $(and $(NVCC),$(HAVE_CUDNN)),1,0)
else ifeq ($(CUDA),1)
  ifeq ($(and $(NVCC),$(HAVE_CUDNN)),)
    $(error CUDA=1 but nvcc or cudnn.h was not found: install the CUDA toolkit and cuDNN, or build with CUDA=0)
  endif
  WITH_CUDA := 1
else
  WITH_CUDA := 0
endif

# ---- libshared: every filter links it ----
SHARED_C   := $(sort $(wildcard libshared/*.c))
SHARED_CXX := $(sort $(wildcard libshared/*.cc))
SHARED_O   := $(SHARED_C:%.c=$(B)/%.o) $(SHARED_CXX:%.cc=$(B)/%.o)
LIBSHARED  := $(B)/libshared.a

# ---- the network engine: linked only by the network programs ----
NN_C       := $(sort $(wildcard libshared/nn/*.c $(filter-out libshared/nn/cuda/%,$(wildcard libshared/nn/*/*.c))))
NN_O       := $(NN_C:%.c=$(B)/%.o)
LIBNN      := $(B)/libnn.a
NN_PROGS   ?= nntrain nninfer nnimport
NN_LDLIBS  ?=

# ---- programs: one .c per program in filters/ (linked with $(CXX): DCMTK is C++) ----
PROGS      := $(sort $(patsubst filters/%.c,%,$(wildcard filters/*.c)))
BINS       := $(PROGS:%=$(OUT_BIN)/%)

# ---- tests: tests/unit/test_*.c, each its own binary, linked with the
# helpers they share (tests/unit/testutil.c) ----
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_UTIL_O := $(B)/tests/unit/testutil.o

.PHONY: all test test-run unit cli ref bench fuzz clean demo check-deps
BENCH_TARGETS :=
EXTRA_TESTS :=
EXTRA_TEST_DEPS :=
all: $(BINS)

-include $(sort $(wildcard mk/*.mk))

# Every compilation waits for the package check (order-only: it never makes
# anything out of date).
check-deps:
	@if [ -n "$(strip $(MISSING_PKGS))" ]; then \
		echo "make: missing Debian packages: $(sort $(MISSING_PKGS))" >&2; \
		echo "make: 'make deps' installs every package radpipe needs (as root), or run:" >&2; \
		echo "  apt-get install -y --no-install-recommends $(sort $(MISSING_PKGS))" >&2; \
		exit 1; fi

$(B)/%.o: %.c | check-deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/%.o: %.cc | check-deps
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(LIBSHARED): $(SHARED_O)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBNN): $(NN_O)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# A program links the engine only when it is one of NN_PROGS.
prog_libs = $(if $(filter $(1),$(NN_PROGS)),$(LIBNN) $(LIBSHARED) $(NN_LDLIBS),$(LIBSHARED)) $(LDLIBS_$(1))
prog_deps = $(if $(filter $(1),$(NN_PROGS)),$(LIBNN)) $(LIBSHARED)

# The programs' objects are kept (not deleted as intermediates).
.SECONDARY: $(PROGS:%=$(B)/filters/%.o) $(UNIT_SRC:%.c=$(B)/%.o) $(UNIT_UTIL_O)
.SECONDEXPANSION:
$(OUT_BIN)/%: $(B)/filters/%.o $$(call prog_deps,%)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< -o $@ $(call prog_libs,$*) $(LDLIBS)

# Unit tests link everything they might need; --as-needed drops the rest.
$(B)/tests/%: $(B)/tests/unit/%.o $(UNIT_UTIL_O) $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< $(UNIT_UTIL_O) -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(TEST_LDLIBS) $(LDLIBS) -lcmocka

TEST_RESULTS := $(abspath $(B))/test-results
export TEST_RESULTS
# The tests run the programs of $(OUT_BIN) (tests/lib/io-common.bash).
RADPIPE_BIN := $(abspath $(OUT_BIN))
export RADPIPE_BIN

unit: $(UNIT_BINS)
	@tests/run-unit $(UNIT_BINS)

cli: all
	@tests/run-cli

# `make test` first makes sure the Debian packages are there (installing
# them as root), then runs test-run in a new make that sees them.
test:
	@pipelines/deps
	@$(MAKE) --no-print-directory test-run

# Every suite runs even when one fails; the closing line sums them all and
# says why tests were skipped (tests/summary).
test-run: all $(UNIT_BINS) $(EXTRA_TEST_DEPS)
	@mkdir -p $(B); rm -f $(TEST_RESULTS); st=0; \
	tests/run-unit $(UNIT_BINS) || st=1; \
	tests/run-cli || st=1; \
	for t in $(EXTRA_TESTS); do $$t || st=1; done; \
	tests/summary test $(TEST_RESULTS); \
	exit $$st

bench: all $(BENCH_TARGETS)
	@echo "benchmark results are in bench/results/"

clean:
	rm -rf $(B) $(OUT_BIN)/*

-include $(shell find $(B) -name '*.d' 2>/dev/null)
