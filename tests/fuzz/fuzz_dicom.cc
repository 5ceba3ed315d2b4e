// fuzz_dicom.cc — libFuzzer target for the DICOM reader: dicom_open, then
// every frame rendered with the file's VOI and with minmax, on arbitrary
// bytes (a "DICM" header is prepended half of the time so that the fuzzer
// gets past the preamble quickly).  Decoded pixel data is capped at 64 MiB.
// Build and run: make fuzz-dicom (mk/dicom.mk).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include "tensor.h"
}
#include "dicom.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dicom_opts plain = { DICOM_VOI_FILE, 0, 0, 0, (const uint8_t *)"k", 1, 0 };
	static const struct dicom_opts minmax = { DICOM_VOI_MINMAX, 0, 0, 1, nullptr, 0, 1 };
	std::vector<uint8_t> buf;
	struct dicom_file *f;
	struct dicom_meta m;
	char err[256];

	dicom_set_limit((size_t)64 << 20);
	dicom_set_isolation(0);         // decoders in-process: libFuzzer sees hangs and coverage
	if (size > 0 && (data[0] & 1)) {
		buf.assign(128, 0);
		buf.insert(buf.end(), { 'D', 'I', 'C', 'M' });
	}
	buf.insert(buf.end(), data, data + size);
	if (dicom_open(buf.data(), buf.size(), &plain, &f, &m, err, sizeof err) != 0)
		return 0;
	for (int k = 0; k < m.frames && k < 4; k++) {
		struct tensor t;
		for (const struct dicom_opts *o : { &plain, &minmax })
			if (dicom_frame(f, k, o, &t, &m, err, sizeof err) == 0)
				tensor_free(&t);
	}
	dicom_close(f);
	return 0;
}
