/* dicom_j2k.c — JPEG 2000 frames of DICOM files (transfer syntaxes
 * 1.2.840.10008.1.2.4.90 and .91), decoded with OpenJPEG from memory.
 * DCMTK 3.6.7 has no JPEG 2000 codec; dicom.cc gathers each frame's
 * fragments and calls dicom_j2k_decode.  OpenJPEG undoes the multiple
 * component transform (the codestream's MCT flag) itself, so YBR_RCT and
 * YBR_ICT frames come out as RGB.
 */
#include <openjpeg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dicom.h"

struct membuf {
	const uint8_t *p;
	size_t len, at;
};

static OPJ_SIZE_T
mem_read(void *dst, OPJ_SIZE_T n, void *user)
{
	struct membuf *m = user;

	if (m->at >= m->len)
		return (OPJ_SIZE_T)-1;
	if (n > m->len - m->at)
		n = m->len - m->at;
	memcpy(dst, m->p + m->at, n);
	m->at += n;
	return n;
}

static OPJ_OFF_T
mem_skip(OPJ_OFF_T n, void *user)
{
	struct membuf *m = user;

	if (n < 0 || (uint64_t)n > m->len - m->at)
		return -1;
	m->at += (size_t)n;
	return n;
}

static OPJ_BOOL
mem_seek(OPJ_OFF_T to, void *user)
{
	struct membuf *m = user;

	if (to < 0 || (uint64_t)to > m->len)
		return OPJ_FALSE;
	m->at = (size_t)to;
	return OPJ_TRUE;
}

static void
quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

/* The first OpenJPEG error, kept for the caller's message. */
static void
keep_error(const char *msg, void *user)
{
	char *e = user;

	if (e[0] == '\0') {
		size_t n;
		snprintf(e, 160, "%s", msg);
		n = strcspn(e, "\n");
		while (n > 0 && e[n - 1] == ' ')
			n--;
		e[n] = '\0';
	}
}

/* Checks the decoded image against the DICOM attributes. */
static int
check_image(const opj_image_t *im, const struct dicom_pixels *px, char *err, size_t errlen)
{
	if ((int)im->numcomps != px->samples) {
		snprintf(err, errlen, "JPEG 2000 frame has %u components, SamplesPerPixel is %d",
		    im->numcomps, px->samples);
		return -1;
	}
	for (int c = 0; c < px->samples; c++) {
		const opj_image_comp_t *k = &im->comps[c];
		if (k->dx != 1 || k->dy != 1 || (int)k->w != px->cols || (int)k->h != px->rows) {
			snprintf(err, errlen, "JPEG 2000 component %d is %ux%u (step %u,%u), the image %dx%d",
			    c, k->w, k->h, k->dx, k->dy, px->cols, px->rows);
			return -1;
		}
		if (k->prec < 1 || (int)k->prec > px->bits_allocated || k->data == NULL) {
			snprintf(err, errlen, "JPEG 2000 component %d has %u bits, BitsAllocated is %d",
			    c, k->prec, px->bits_allocated);
			return -1;
		}
	}
	return 0;
}

/* Copies the components into out, interleaved, little-endian 16-bit when
 * BitsAllocated is 16 (values keep their two's complement bits).  An
 * unsigned codestream in a file whose PixelRepresentation is 1 holds two's
 * complement values of the codestream's precision: they are sign-extended
 * from that precision (as pydicom and GDCM do). */
static void
store(const opj_image_t *im, const struct dicom_pixels *px, uint8_t *out)
{
	size_t n = (size_t)px->rows * (size_t)px->cols;

	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < px->samples; c++) {
			const opj_image_comp_t *k = &im->comps[c];
			uint32_t v = (uint32_t)k->data[i];
			if (px->pixel_rep && !k->sgnd && k->prec < 32 && (v >> (k->prec - 1) & 1))
				v -= (uint32_t)1 << k->prec;
			size_t j = i * (size_t)px->samples + (size_t)c;
			if (px->bits_allocated == 8) {
				out[j] = (uint8_t)v;
			} else {
				out[2 * j] = (uint8_t)v;
				out[2 * j + 1] = (uint8_t)(v >> 8);
			}
		}
}

int
dicom_j2k_decode(const uint8_t *cs, size_t len, const struct dicom_pixels *px,
    uint8_t *out, char *err, size_t errlen)
{
	static const uint8_t jp2_sig[] = { 0, 0, 0, 12, 'j', 'P', ' ', ' ' };
	struct membuf m = { cs, len, 0 };
	opj_dparameters_t par;
	opj_codec_t *codec;
	opj_stream_t *st;
	opj_image_t *im = NULL;
	char oerr[160] = "";
	int rc = -1;

	if (len < 12) {
		snprintf(err, errlen, "JPEG 2000 frame of %zu bytes", len);
		return -1;
	}
	codec = opj_create_decompress(memcmp(cs, jp2_sig, sizeof jp2_sig) == 0 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	st = opj_stream_create(1 << 16, OPJ_TRUE);
	if (codec == NULL || st == NULL) {
		snprintf(err, errlen, "JPEG 2000: out of memory");
		goto out;
	}
	opj_set_info_handler(codec, quiet, NULL);
	opj_set_warning_handler(codec, quiet, NULL);
	opj_set_error_handler(codec, keep_error, oerr);
	opj_stream_set_user_data(st, &m, NULL);
	opj_stream_set_user_data_length(st, len);
	opj_stream_set_read_function(st, mem_read);
	opj_stream_set_skip_function(st, mem_skip);
	opj_stream_set_seek_function(st, mem_seek);
	opj_set_default_decoder_parameters(&par);
	if (!opj_setup_decoder(codec, &par) || !opj_read_header(st, codec, &im)) {
		snprintf(err, errlen, "corrupt JPEG 2000 data: %s", oerr[0] ? oerr : "bad header");
		goto out;
	}
	/* the header's size must be the image's before any decoding work */
	if (im->x1 - im->x0 != (OPJ_UINT32)px->cols || im->y1 - im->y0 != (OPJ_UINT32)px->rows) {
		snprintf(err, errlen, "JPEG 2000 frame is %ux%u, the image %dx%d",
		    im->x1 - im->x0, im->y1 - im->y0, px->cols, px->rows);
		goto out;
	}
	if (!opj_decode(codec, st, im) || !opj_end_decompress(codec, st)) {
		snprintf(err, errlen, "corrupt JPEG 2000 data: %s", oerr[0] ? oerr : "decoding failed");
		goto out;
	}
	if (check_image(im, px, err, errlen) < 0)
		goto out;
	store(im, px, out);
	rc = 0;
out:
	if (im)
		opj_image_destroy(im);
	if (st)
		opj_stream_destroy(st);
	if (codec)
		opj_destroy_codec(codec);
	return rc;
}
