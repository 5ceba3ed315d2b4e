# mk/fuzz.mk — libFuzzer targets, built with clang and AddressSanitizer +
# UndefinedBehaviorSanitizer against libshared and the engine compiled again
# with the same instrumentation ($(B)/fuzz/libradpipe-fuzz.a):
#   fuzz_frame    the stream reader (frame_scan, frame_parse, frame_read)
#   fuzz_png      png_decode (libpng)          fuzz_jpeg    jpeg_decode_image
#   fuzz_labels   the CSV label tables         fuzz_model   model files
#   fuzz_targets  multi-label target tables and label maps
#   fuzz_h5keras  Keras HDF5 weights (libhdf5)
#   fuzz_dicom    DICOM through DCMTK (built by mk/dicom.mk)
#
#   make fuzz                    build, then run each target for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600   a longer run; FUZZ_TARGETS="fuzz_png" for one
#   make fuzz-build              build only
#   make fuzz-seeds              regenerate the fuzz_model and fuzz_h5keras seeds
#   tests/fuzz/run-ci            what `make test` runs: each target over its
#                                seeds plus FUZZ_CI_RUNS fixed-seed inputs
# Seeds are tests/fuzz/corpus/<target>/ (committed); what the fuzzer finds
# goes to tests/fuzz/corpus-work/<target>/ (ignored), crashes to $(B)/fuzz/.
# A finding, once fixed, is committed as tests/fuzz/regress/<target>/<name>:
# run-ci replays every file there.
# Needs clang and its fuzzer runtime (Debian: clang, libclang-rt-14-dev).

FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_CFL     := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_C_TARGETS := $(sort $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_C_TARGETS) fuzz_dicom
FUZZ_LIB_O   := $(SHARED_C:%.c=$(B)/fuzz/obj/%.o) $(NN_C:%.c=$(B)/fuzz/obj/%.o)
FUZZ_LIB     := $(B)/fuzz/libradpipe-fuzz.a
FUZZ_LDLIBS   = $(NN_LDLIBS) $(LDLIBS)
# per-target libFuzzer options (fuzz_dicom: see mk/dicom.mk)
FUZZ_OPTS_fuzz_dicom := -malloc_limit_mb=4200 -timeout=10
# libhdf5 itself crashes and hangs on corrupt files (bench/results/fuzz.md):
# fork mode counts those and goes on
FUZZ_OPTS_fuzz_h5keras := -timeout=10 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
FUZZ_OPTS_fuzz_model := -timeout=10

$(B)/fuzz/obj/%.o: %.c | check-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFL) -std=c11 -D_GNU_SOURCE -MMD -MP $(CPPFLAGS) -c $< -o $@
$(B)/fuzz/obj/libshared/nn/cpu/%.o: FUZZ_CFL += -fopenmp -Wno-pass-failed

$(FUZZ_LIB): $(FUZZ_LIB_O)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_C_TARGETS:%=$(B)/fuzz/%): $(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(subst fuzzer-no-link,fuzzer,$(FUZZ_CFL)) -x c -std=c11 -D_GNU_SOURCE $(CPPFLAGS) \
	    $< -x none -o $@ $(FUZZ_LIB) $(FUZZ_LDLIBS) -fopenmp

$(B)/fuzz/mkseeds: tests/fuzz/mkseeds.c $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(LDLIBS) -lstdc++

.PHONY: fuzz fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz/%)

fuzz-seeds: $(B)/fuzz/mkseeds
	mkdir -p tests/fuzz/corpus/fuzz_model tests/fuzz/corpus/fuzz_h5keras
	$(B)/fuzz/mkseeds tests/fuzz/corpus

# Every target runs even when one fails; make fuzz fails at the end if
# any did, except those in FUZZ_KNOWN_FAIL, whose findings are inside a
# system library (listed in bench/results/fuzz.md and tests/fuzz/known/).
FUZZ_KNOWN_FAIL ?= fuzz_h5keras
fuzz: fuzz-build
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@st=0; $(foreach t,$(FUZZ_TARGETS),mkdir -p tests/fuzz/corpus-work/$(t); \
		echo "fuzz: $(t) for $(FUZZ_SECONDS) s"; \
		LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $(B)/fuzz/$(t) -max_total_time=$(FUZZ_SECONDS) \
		    -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix=$(B)/fuzz/$(t)- $(FUZZ_OPTS_$(t)) \
		    tests/fuzz/corpus-work/$(t) tests/fuzz/corpus/$(t) || \
		{ echo "fuzz: $(t) found something: $(B)/fuzz/$(t)-*"; \
		  case " $(FUZZ_KNOWN_FAIL) " in (*" $(t) "*) echo "fuzz: $(t): known failures in a system library (bench/results/fuzz.md)";; (*) st=1;; esac; }; ) \
	exit $$st

# make test: each target over its seeds and regressions, briefly (skips
# with a message when clang or its fuzzer runtime is missing).  Not under
# SAN=1: the targets are built with the sanitizers anyway.
ifneq ($(SAN),1)
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
EXTRA_TEST_DEPS += fuzz-build
endif
EXTRA_TESTS += tests/fuzz/run-ci
endif
RADPIPE_FUZZ_DIR := $(abspath $(B))/fuzz
export RADPIPE_FUZZ_DIR
