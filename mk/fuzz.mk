# mk/fuzz.mk — libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang and
# AddressSanitizer + UndefinedBehaviorSanitizer against the libshared sources
# they exercise (compiled again with the same instrumentation).
#   make fuzz                    build, then run each target for FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600   a longer run
# Seeds are tests/fuzz/corpus/<target>/ (committed); what the fuzzer finds
# goes to tests/fuzz/corpus-work/<target>/ (ignored), crashes to $(B)/fuzz/.
# Needs clang and its fuzzer runtime (Debian: clang, libclang-rt-14-dev).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBSRC  := libshared/frame.c libshared/mp.c libshared/tensor.c libshared/err.c

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBSRC) $(wildcard libshared/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 -D_GNU_SOURCE $(CPPFLAGS) \
	    $< $(FUZZ_LIBSRC) -o $@ $(shell pkg-config --libs msgpack 2>/dev/null) -lm

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz/%)

fuzz: fuzz-build
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/corpus-work/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
		    -print_final_stats=1 -artifact_prefix=$(B)/fuzz/$$t- \
		    tests/fuzz/corpus-work/$$t tests/fuzz/corpus/$$t || exit 1; \
	done
