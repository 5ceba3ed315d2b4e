/* fuzz_png.c — libFuzzer target for the PNG decoder (libshared/png.c on
 * libpng): png_decode from memory, 8-bit and 16-bit output, and every byte
 * of a decoded image touched so that ASan sees a short buffer.  A decoded
 * image must match what the info says.  Images larger than 64 Mpx are
 * refused by the fuzzer's malloc limit, not by png.c.
 *
 *   make fuzz                     all targets (mk/fuzz.mk)
 *   build/fuzz/fuzz_png CORPUS    by hand; seeds in tests/fuzz/corpus/fuzz_png
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "png.h"
#include "tensor.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	for (int keep16 = 0; keep16 <= 1; keep16++) {
		struct tensor t;
		struct png_info info;
		char err[256] = "";
		volatile uint8_t sink = 0;

		if (png_decode(data, len, keep16, &t, &info, err, sizeof err) != 0) {
			CHECK(err[0] != '\0');
			continue;
		}
		CHECK(png_is_png(data, len));
		CHECK(t.rank == 3 && t.shape[0] == info.height && t.shape[1] == info.width);
		CHECK(t.shape[2] == info.channels && info.channels >= 1 && info.channels <= 4);
		CHECK(t.dtype == (keep16 && info.bit_depth == 16 ? DT_U16 : DT_U8));
		CHECK(t.nbytes == tensor_count(&t) * dtype_size(t.dtype));
		for (size_t i = 0; i < t.nbytes; i++)
			sink ^= ((const uint8_t *)t.data)[i];
		(void)sink;
		tensor_free(&t);
	}
	return 0;
}
