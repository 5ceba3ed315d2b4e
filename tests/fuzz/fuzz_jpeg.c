/* fuzz_jpeg.c — libFuzzer target for the JPEG decoder (libshared/jpeg.c on
 * libjpeg-turbo): jpeg_decode_image from memory, the EXIF orientation
 * parser on the bytes themselves, and every byte of a decoded image
 * touched.  A decoded image must match what the info says.
 *
 *   make fuzz                      all targets (mk/fuzz.mk)
 *   build/fuzz/fuzz_jpeg CORPUS    by hand; seeds in tests/fuzz/corpus/fuzz_jpeg
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jpeg.h"
#include "tensor.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tensor t;
	struct jpeg_image_info info;
	char err[256] = "";
	volatile uint8_t sink = 0;
	int o = jpeg_exif_orientation(data, len);

	CHECK(o >= 1 && o <= 8);
	if (jpeg_decode_image(data, len, &t, &info, err, sizeof err) != 0) {
		CHECK(err[0] != '\0');
		return 0;
	}
	CHECK(t.dtype == DT_U8 && t.rank == 3);
	CHECK(t.shape[0] == info.height && t.shape[1] == info.width);
	CHECK(t.shape[2] == info.channels && (info.channels == 1 || info.channels == 3));
	CHECK(info.orientation >= 1 && info.orientation <= 8);
	CHECK(t.nbytes == tensor_count(&t));
	for (size_t i = 0; i < t.nbytes; i++)
		sink ^= ((const uint8_t *)t.data)[i];
	(void)sink;
	tensor_free(&t);
	return 0;
}
