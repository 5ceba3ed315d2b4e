/* sampleframe.c — encoding one image as a sample frame (radpipe-stream(5)):
 * id and class names as valid UTF-8, the tensor, and meta (the source
 * file's fields, meta.dicom, meta.shard). */
#include "sampleframe.h"
#include "frame_mp.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s[0] does not
 * start one (RFC 3629: no overlong forms, surrogates or values > 10FFFF). */
static int
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Packs a name from the file system (an id, a class) as a valid UTF-8
 * str: a byte that is not part of valid UTF-8, a control byte (below 0x20,
 * or 0x7f) and the backslash itself are written \xHH (lower-case hex) and
 * \\, so the original bytes can be recovered (radpipe-stream(5)). */
static void
pack_name(msgpack_packer *pk, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), len = 0;
	char *out = xmallocarray(n + 1, 4);

	while (*s) {
		int k = utf8_len(s);
		if (*s == '\\') {
			out[len++] = '\\';
			out[len++] = '\\';
		} else if (k == 0 || *s < 0x20 || *s == 0x7f) {
			len += (size_t)snprintf(out + len, 5, "\\x%02x", *s);
			k = 1;
		} else {
			memcpy(out + len, s, (size_t)k);
			len += (size_t)k;
		}
		s += k ? k : 1;
	}
	msgpack_pack_str_with_body(pk, out, len);
	free(out);
}

static void
pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	pack_str(pk, k);
	pack_str(pk, v);
}

/* meta.dicom: the attributes radpipe keeps; empty ones are left out.
 * Never a name or a birth date; PatientID only when it was asked for. */
static void
pack_dicom(msgpack_packer *pk, const struct dicom_meta *d)
{
	const char *const key[] = { "modality", "body_part", "view_position", "photometric",
	    "study_uid", "series_uid", "sop_uid", "sop_class_uid", "transfer_syntax",
	    "voi", "patient_key", "patient_id" };
	const char *const val[] = { d->modality, d->body_part, d->view_position, d->photometric,
	    d->study_uid, d->series_uid, d->sop_uid, d->sop_class_uid, d->transfer_syntax,
	    d->voi, d->patient_key, d->patient_id };
	size_t nk = sizeof key / sizeof key[0], n = (size_t)d->has_spacing;

	for (size_t i = 0; i < nk; i++)
		n += val[i][0] != '\0';
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < nk; i++)
		if (val[i][0] != '\0')
			pack_kv_str(pk, key[i], val[i]);
	if (d->has_spacing) {
		pack_str(pk, "pixel_spacing");
		msgpack_pack_array(pk, 2);
		msgpack_pack_double(pk, d->spacing[0]);
		msgpack_pack_double(pk, d->spacing[1]);
	}
}

static void
pack_meta(msgpack_packer *pk, const struct dataset *ds, const struct image_info *ii,
    const char *hex, int gray_rgb)
{
	int frames = ii->frames > 1, orient = ii->orientation > 1, shard = ds->shard_size > 1;

	msgpack_pack_map(pk, 3 + (ii->dicom != NULL) + shard);
	pack_str(pk, "source");
	msgpack_pack_map(pk, 5 + frames + orient);
	pack_str(pk, "format"); pack_str(pk, ii->format);
	pack_str(pk, "width"); msgpack_pack_int(pk, ii->width);
	pack_str(pk, "height"); msgpack_pack_int(pk, ii->height);
	pack_str(pk, "bit_depth"); msgpack_pack_int(pk, ii->bit_depth);
	pack_str(pk, "channels"); msgpack_pack_int(pk, ii->channels);
	if (frames) {
		pack_str(pk, "frames"); msgpack_pack_int(pk, ii->frames);
	}
	if (orient) {
		pack_str(pk, "exif_orientation"); msgpack_pack_int(pk, ii->orientation);
	}
	pack_str(pk, "sha256"); pack_str(pk, hex);
	pack_str(pk, "gray_rgb");
	if (gray_rgb)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (ii->dicom) {
		pack_str(pk, "dicom");
		pack_dicom(pk, ii->dicom);
	}
	if (shard) {
		pack_str(pk, "shard");
		msgpack_pack_map(pk, 2);
		pack_str(pk, "rank"); msgpack_pack_int(pk, ds->shard_rank);
		pack_str(pk, "size"); msgpack_pack_int(pk, ds->shard_size);
	}
}

/* A msgpack_sbuffer that remembers a failed write (out of memory), so
 * that a frame is never left with a piece missing. */
struct safe_sbuffer {
	msgpack_sbuffer sb;
	int failed;
};

static int
safe_write(void *data, const char *buf, size_t len)
{
	struct safe_sbuffer *s = data;

	if (!s->failed && msgpack_sbuffer_write(&s->sb, buf, len) != 0)
		s->failed = 1;
	return s->failed ? -1 : 0;
}

char *
sample_frame_encode(const struct dataset *ds, const struct ds_item *it, const struct tensor *x,
    const struct image_info *ii, const char *hex, int gray_rgb, size_t *lenP)
{
	return sample_frame_encode_targets(ds, it, x, ii, hex, gray_rgb, NULL, lenP);
}

/* targets: [k ints], target_names: [k strings] (radpipe-stream(5)). */
static void
pack_targets(msgpack_packer *pk, const struct sample_targets *t)
{
	pack_str(pk, "targets");
	msgpack_pack_array(pk, (size_t)t->k);
	for (int i = 0; i < t->k; i++)
		msgpack_pack_int(pk, t->v[i]);
	pack_str(pk, "target_names");
	msgpack_pack_array(pk, (size_t)t->k);
	for (int i = 0; i < t->k; i++)
		pack_name(pk, t->names[i]);
}

char *
sample_frame_encode_targets(const struct dataset *ds, const struct ds_item *it,
    const struct tensor *x, const struct image_info *ii, const char *hex, int gray_rgb,
    const struct sample_targets *t, size_t *lenP)
{
	struct safe_sbuffer ssb = { .failed = 0 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int labelled = it->label >= 0 && t == NULL;

	msgpack_sbuffer_init(&ssb.sb);
	msgpack_packer_init(&pk, &ssb, safe_write);
	msgpack_pack_map(&pk, 4 + (labelled ? 2 : 0) + (t ? 2 : 0));
	pack_str(&pk, "kind"); pack_str(&pk, "sample");
	pack_str(&pk, "id"); pack_name(&pk, it->id);
	if (labelled) {
		pack_str(&pk, "label"); msgpack_pack_int(&pk, it->label);
		pack_str(&pk, "class"); pack_name(&pk, ds->classes[it->label]);
	}
	if (t)
		pack_targets(&pk, t);
	pack_str(&pk, "x"); tensor_pack(&pk, x);
	pack_str(&pk, "meta"); pack_meta(&pk, ds, ii, hex, gray_rgb);
	sb = ssb.sb;
	if (ssb.failed || sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return NULL;
	}
	*lenP = sb.size;
	return msgpack_sbuffer_release(&sb);
}
