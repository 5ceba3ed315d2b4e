# mk/san.mk — `make SAN=1`: every program, library and unit test built with
# AddressSanitizer and UndefinedBehaviorSanitizer into build-san/ and
# bin-san/ (the Makefile switches B and OUT_BIN, and sets CUDA=0: the CUDA
# object is not instrumented), so a sanitizer build never replaces the
# normal one.
#   make SAN=1 -j2          build
#   make SAN=1 test-run     the whole suite on the instrumented programs
#                           (the tests find them through RADPIPE_BIN)
# oneDNN, OpenMP, DCMTK, libpng and libjpeg are the system's uninstrumented
# libraries; what they leak at exit is listed, with the reasons, in
# tests/san/lsan.supp.

ifeq ($(SAN),1)
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS     += $(SAN_FLAGS)
CXXFLAGS   += $(SAN_FLAGS)
LDFLAGS    += $(SAN_FLAGS)

# Any sanitizer report fails the program (exit 1 after the report) and so
# the test that ran it.  malloc returns NULL when it cannot (radpipe checks,
# and the tests of out-of-memory paths need it), as without ASan.
ASAN_OPTIONS  ?= detect_leaks=1:check_initialization_order=1:exitcode=1:allocator_may_return_null=1
LSAN_OPTIONS  ?= suppressions=$(abspath tests/san/lsan.supp):print_suppressions=0:exitcode=1
UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:exitcode=1
# RADPIPE_SAN tells the tests (mem_capped in tests/lib/io-common.bash: ASan
# cannot run under ulimit -v, it reserves terabytes of shadow addresses).
RADPIPE_SAN   := 1
export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS RADPIPE_SAN
endif
