# mk/dicom.mk — DICOM (DCMTK, libshared/dicom.cc) and JPEG (libjpeg-turbo,
# libshared/jpeg.c) input for imgload; the DICOM fuzz target.
# Debian: libdcmtk-dev dcmtk (tools used by the tests), libjpeg62-turbo-dev
# libjpeg-turbo-progs (cjpeg, jpegtran for the tests), libopenjp2-7-dev
# (JPEG 2000 in DICOM, libshared/dicom_j2k.c).
#   make fuzz-dicom                     build and run tests/fuzz/fuzz_dicom.cc
#   make fuzz-dicom FUZZ_SECONDS=600    for longer
# DCMTK's pkg-config file names libraries radpipe does not need (and a
# missing sndfile.pc breaks it), so the list is spelled out; --as-needed
# drops whatever a program does not use.

$(call need_header,dcmtk/dcmdata/dctk.h,libdcmtk-dev)
$(call need_header,jpeglib.h,libjpeg62-turbo-dev)
$(call need_header,openjpeg-2.5/openjpeg.h,libopenjp2-7-dev)
CPPFLAGS   += -I$(INCLUDE_ROOT)/openjpeg-2.5

DICOM_LIBS := -ldcmjpls -ldcmtkcharls -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimage -ldcmimgle \
              -ldcmdata -loflog -lofstd -lz -lopenjp2
LDLIBS     += $(DICOM_LIBS) -ljpeg

# ---- fuzzing dicom_open/dicom_frame (clang, ASan + UBSan, libFuzzer) ----
# DCMTK (not instrumented: the system's libraries) allocates an element's
# declared length (up to 4 GiB) before it finds the data missing; the
# memory is never touched, so single mallocs up to 4200 MB are allowed while
# the RSS limit stays at 2 GiB.
FUZZ_CXX        ?= clang++
FUZZ_DICOM_SRC  := libshared/dicom.cc libshared/dicom_codec.cc libshared/dicom_render.c libshared/dicom_j2k.c \
                   libshared/guard.c libshared/sha256.c \
                   libshared/tensor.c libshared/err.c
FUZZ_DICOM_OBJ  := $(FUZZ_DICOM_SRC:%=$(B)/fuzz/dicom/%.o)
FUZZ_DICOM_CFL  := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                   -fno-sanitize-recover=undefined

$(B)/fuzz/dicom/%.c.o: %.c $(wildcard libshared/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_DICOM_CFL) -std=c11 -D_GNU_SOURCE $(CPPFLAGS) -c $< -o $@
$(B)/fuzz/dicom/%.cc.o: %.cc $(wildcard libshared/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_DICOM_CFL) -std=c++17 $(CPPFLAGS) -c $< -o $@

$(B)/fuzz/fuzz_dicom: tests/fuzz/fuzz_dicom.cc $(FUZZ_DICOM_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CXX) -g -O1 -fsanitize=fuzzer,address,undefined -std=c++17 $(CPPFLAGS) \
	    $< $(FUZZ_DICOM_OBJ) -o $@ $(DICOM_LIBS) $(shell pkg-config --libs msgpack 2>/dev/null) -lm

.PHONY: fuzz-dicom
fuzz-dicom: $(B)/fuzz/fuzz_dicom
	@mkdir -p tests/fuzz/corpus-work/fuzz_dicom tests/fuzz/corpus/fuzz_dicom
	$(B)/fuzz/fuzz_dicom -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	    -malloc_limit_mb=4200 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(B)/fuzz/fuzz_dicom- \
	    tests/fuzz/corpus-work/fuzz_dicom tests/fuzz/corpus/fuzz_dicom
