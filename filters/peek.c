/* peek — print the frames of a radpipe stream as text, one line each.
 *
 * Tensors are summarised (dtype, shape, min, max, mean), never dumped.
 * --png DIR writes image tensors as PNG files so a person can look at what
 * flows through a pipeline; --pass copies the stream to stdout unchanged
 * (the text then goes to stderr), so peek can sit inside a pipeline.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "png.h"

static const char synopsis[] = "usage: peek [options] [FILE...]\n";

struct options {
	const char *png_dir;
	int pass;
	int count;
	int width;
	char **files;            /* the FILE operands */
	int nfiles;
};

struct kinds {
	char name[32][32];
	uint64_t n[32];
	int len;
};

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_OPERAND("FILE", "streams to read (default: stdin; - is stdin)"),
		CLI_STR("png", 0, "DIR", "write every image tensor (HWC or NHWC, u8/u16, 1-4\nchannels) to "
		    "DIR/<frame>-<n>.png", &o->png_dir),
		CLI_FLAG("pass", 0, "copy the stream to stdout; text goes to stderr", &o->pass),
		CLI_FLAG("count", 0, "print only the number of frames of each kind", &o->count),
		CLI_INT("width", 0, "N", "truncate strings longer than N characters (default 48)", &o->width, 4, 100000),
		CLI_END
	};
	int i;

	*o = (struct options){ .width = 48 };
	i = cli_parse(argc, argv, synopsis, opts);
	o->files = argv + i;
	o->nfiles = argc - i;
}

static double
element(const struct tensor *t, size_t i)
{
	const uint8_t *p = (const uint8_t *)t->data;
	uint16_t h;
	uint32_t u;
	float f;

	switch (t->dtype) {
	case DT_U8: return p[i];
	case DT_U16: memcpy(&h, p + 2 * i, 2); return h;
	case DT_I32: memcpy(&u, p + 4 * i, 4); return (int32_t)u;
	case DT_F32: memcpy(&f, p + 4 * i, 4); return f;
	case DT_BF16: memcpy(&h, p + 2 * i, 2); u = (uint32_t)h << 16; memcpy(&f, &u, 4); return f;
	case DT_F16: {
		memcpy(&h, p + 2 * i, 2);
		int e = h >> 10 & 31, m = h & 1023;
		double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
		return h & 0x8000 ? -v : v;
	}
	default: return 0;
	}
}

static void
print_tensor(FILE *out, const struct tensor *t)
{
	size_t n = tensor_count(t);
	double lo = INFINITY, hi = -INFINITY, sum = 0;
	char desc[128];

	for (size_t i = 0; i < n; i++) {
		double v = element(t, i);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		sum += v;
	}
	fprintf(out, "%s", tensor_describe(t, desc, sizeof desc));
	if (n > 0)
		fprintf(out, "{min %.6g max %.6g mean %.6g}", lo, hi, sum / (double)n);
}

static void print_value(FILE *out, const struct fval *v, int width, int depth);

/* key=, with a string key bare. */
static void
print_key(FILE *out, const struct fval *k, int width, int depth)
{
	size_t n;
	const char *s = fv_strp(k, &n);

	if (s)
		fprintf(out, "%.*s=", (int)n, s);
	else
		print_value(out, k, width, depth), fputc('=', out);
}

static void
print_map(FILE *out, const struct fval *v, int width, int depth)
{
	struct tensor t;
	char err[128];

	if (fv_tensor(v, &t, err, sizeof err) == 0) {
		print_tensor(out, &t);
		return;
	}
	fputc('{', out);
	for (size_t i = 0; i < fv_len(v); i++) {
		if (i)
			fputc(' ', out);
		print_key(out, fv_key_at(v, i), width, depth + 1);
		print_value(out, fv_val_at(v, i), width, depth + 1);
	}
	fputc('}', out);
}

static void
print_array(FILE *out, const struct fval *v, int width, int depth)
{
	size_t n = fv_len(v), shown = n <= 8 ? n : 6;

	fputc('[', out);
	for (size_t i = 0; i < shown; i++) {
		if (i)
			fputc(',', out);
		print_value(out, fv_at(v, i), width, depth + 1);
	}
	if (shown < n)
		fprintf(out, ",... %zu items", n);
	fputc(']', out);
}

static void
print_value(FILE *out, const struct fval *v, int width, int depth)
{
	size_t n;
	int64_t i;
	uint64_t u;
	int b, ext;
	const char *s;

	switch (fv_type(v)) {
	case FV_NIL: fputs("nil", out); break;
	case FV_BOOL: fv_to_bool(v, &b), fputs(b ? "true" : "false", out); break;
	case FV_INT:
		if (fv_to_uint(v, &u) == 0)
			fprintf(out, "%llu", (unsigned long long)u);
		else if (fv_to_int(v, &i) == 0)
			fprintf(out, "%lld", (long long)i);
		break;
	case FV_FLOAT: fprintf(out, "%.6g", fv_number(v)); break;
	case FV_STR:
		s = fv_strp(v, &n);
		if ((int)n > width)
			fprintf(out, "\"%.*s...\"", width, s);
		else
			fprintf(out, "\"%.*s\"", (int)n, s);
		break;
	case FV_BIN: fv_bin(v, &n), fprintf(out, "<%zu bytes>", n); break;
	case FV_EXT: fv_ext(v, &ext, &n), fprintf(out, "<ext %d, %zu bytes>", ext, n); break;
	case FV_ARRAY:
		if (depth > 6) { fputs("[...]", out); break; }
		print_array(out, v, width, depth);
		break;
	case FV_MAP:
		if (depth > 6) { fputs("{...}", out); break; }
		print_map(out, v, width, depth);
		break;
	default: break;
	}
}

static void
print_frame(FILE *out, const struct frame *f, uint64_t index, int width)
{
	fprintf(out, "%llu %.*s", (unsigned long long)index, (int)f->kind_len, f->kind);
	for (size_t i = 0; i < fv_len(f->root); i++) {
		const struct fval *k = fv_key_at(f->root, i);
		size_t n;
		const char *s = fv_strp(k, &n);
		if (fv_str_eq(k, "kind"))
			continue;
		fputc(' ', out);
		if (s)
			fprintf(out, "%.*s=", (int)n, s);
		print_value(out, fv_val_at(f->root, i), width, 1);
	}
	fputc('\n', out);
}

/* Writes each image of tensor t (HWC, or NHWC split per image). */
static void
write_pngs(const char *dir, uint64_t index, const char *key, const struct tensor *t)
{
	struct tensor img;
	int n = t->rank == 4 ? (int)t->shape[0] : 1;
	char path[4096], err[4608];

	if ((t->rank != 3 && t->rank != 4) || (t->dtype != DT_U8 && t->dtype != DT_U16) ||
	    t->shape[t->rank - 1] < 1 || t->shape[t->rank - 1] > 4)
		return;
	for (int i = 0; i < n; i++) {
		memset(&img, 0, sizeof img);
		img.dtype = t->dtype;
		img.rank = 3;
		memcpy(img.shape, t->shape + (t->rank - 3), 3 * sizeof(int64_t));
		img.nbytes = t->nbytes / (size_t)n;
		img.data = (char *)t->data + img.nbytes * (size_t)i;
		tensor_ensure_aligned(&img);
		snprintf(path, sizeof path, "%s/%06llu-%s-%d.png", dir, (unsigned long long)index, key, i);
		if (png_write_file(path, &img, err, sizeof err) < 0)
			die("%s", err);
		tensor_free(&img);
	}
}

static void
count_kind(struct kinds *k, const struct frame *f)
{
	int i;

	for (i = 0; i < k->len; i++)
		if (frame_is(f, k->name[i]))
			break;
	if (i == k->len) {
		if (k->len == 32)
			i = 31;         /* the rest share the last slot */
		else
			k->len++;
		snprintf(k->name[i], sizeof k->name[i], "%.*s", (int)f->kind_len, f->kind);
	}
	k->n[i]++;
}

static void
peek_stream(const struct options *o, struct frame_reader *r, struct frame_writer *w,
    struct kinds *k, uint64_t *index)
{
	FILE *out = o->pass ? stderr : stdout;
	struct frame f;

	while (frame_next(r, &f)) {
		if (w)
			frame_write_raw(w, &f);
		count_kind(k, &f);
		if (!o->count)
			print_frame(out, &f, *index, o->width);
		if (ferror(stdout))
			stdout_check();
		if (o->png_dir) {
			struct tensor t;
			for (size_t i = 0; i < fv_len(f.root); i++) {
				const struct fval *k = fv_key_at(f.root, i);
				char err[128], key[64];
				const char *s;
				size_t n;
				if (fv_type(k) != FV_STR ||
				    fv_tensor(fv_val_at(f.root, i), &t, err, sizeof err) < 0)
					continue;
				s = fv_strp(k, &n);
				snprintf(key, sizeof key, "%.*s", (int)n, s);
				write_pngs(o->png_dir, *index, key, &t);
			}
		}
		(*index)++;
	}
}

int
main(int argc, char **argv)
{
	struct options o;
	struct frame_writer *w = NULL;
	struct kinds k = { .len = 0 };
	uint64_t index = 0;
	FILE *out;
	char err[4608];

	parse_command_line(argc, argv, &o);
	out = o.pass ? stderr : stdout;
	if (o.png_dir && file_mkdirs(o.png_dir, err, sizeof err) < 0)
		die("%s", err);
	if (o.pass)
		w = frame_writer_fd(1, "stdout");
	for (int i = 0; i < o.nfiles || i == 0; i++) {
		const char *path = i < o.nfiles ? o.files[i] : "-";
		struct frame_reader *r = frame_reader_open(path);
		if (r == NULL)
			die("%s: %s", path, strerror(errno));
		peek_stream(&o, r, w, &k, &index);
		frame_reader_close(r);
	}
	if (o.count)
		for (int i = 0; i < k.len; i++)
			fprintf(out, "%s %llu\n", k.name[i], (unsigned long long)k.n[i]);
	frame_writer_close(w);          /* NULL without --pass */
	stdout_finish();
	return 0;
}
