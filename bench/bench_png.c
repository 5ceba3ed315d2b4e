/* bench_png — PNG decoding speed: radpipe's png_decode next to a bare
 * libpng loop doing the same work, on the same files held in memory.
 *
 *   bench_png gen DIR N SIZE      write N synthetic SIZE x SIZE 8-bit gray
 *                                 PNGs (smooth shading + noise, like a
 *                                 radiograph) as DIR/synth_NNN.png
 *   bench_png decode [-r ROUNDS] FILE...
 *                                 decode every file ROUNDS times (default 3)
 *                                 both ways, alternating, and print one
 *                                 line: files, MB of pixels, best seconds
 *                                 per pass of each, img/s, ratio
 *
 * The bare loop is what any program must do with libpng: create the read
 * structs, read from memory, expand palette/low-bit/tRNS, scale 16 to 8
 * bits, Adam7 handling, read the rows into one buffer, read the end.
 * radpipe adds only its error handling and an aligned tensor.
 */
#include <libpng16/png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fileio.h"
#include "png.h"
#include "rng.h"

struct file {
	uint8_t *p;
	size_t len;
};

struct mem {
	const uint8_t *p;
	size_t len, off;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void
read_mem(png_structp png, png_bytep dst, png_size_t n)
{
	struct mem *m = png_get_io_ptr(png);

	if (n > m->len - m->off)
		png_error(png, "truncated");
	memcpy(dst, m->p + m->off, n);
	m->off += n;
}

/* The bare libpng decode; returns the decoded bytes (0 on error). */
static size_t
bare_decode(const struct file *f, uint8_t **bufP, size_t *capP)
{
	struct mem m = { f->p, f->len, 0 };
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop pi = png_create_info_struct(png);
	png_bytep *volatile rows = NULL;
	size_t rowbytes, n = 0;
	png_uint_32 h;

	if (setjmp(png_jmpbuf(png))) {
		free(rows);
		png_destroy_read_struct(&png, &pi, NULL);
		return 0;
	}
	png_set_read_fn(png, &m, read_mem);
	png_read_info(png, pi);
	png_set_expand(png);
	if (png_get_bit_depth(png, pi) == 16)
		png_set_scale_16(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, pi);
	h = png_get_image_height(png, pi);
	rowbytes = png_get_rowbytes(png, pi);
	n = rowbytes * h;
	if (n > *capP) {
		free(*bufP);
		*bufP = xmalloc(n);
		*capP = n;
	}
	rows = xmallocarray(h, sizeof *rows);
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = *bufP + y * rowbytes;
	png_read_image(png, rows);
	png_read_end(png, NULL);
	free(rows);
	png_destroy_read_struct(&png, &pi, NULL);
	return n;
}

static int
cmd_gen(int argc, char **argv)
{
	int n, size;
	struct tensor t;
	struct rng r;
	char path[4096], err[4608];

	if (argc != 3)
		die_usage("gen DIR N SIZE");
	n = atoi(argv[1]);
	size = atoi(argv[2]);
	if (n < 1 || size < 1)
		die_usage("gen: N and SIZE must be positive");
	if (file_mkdirs(argv[0], err, sizeof err) < 0)
		die("%s", err);
	tensor_alloc_hwc(&t, DT_U8, size, size, 1);
	for (int i = 0; i < n; i++) {
		uint8_t *p = t.data;
		rng_init(&r, 1234, (uint64_t)i, 0);
		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++) {
				double dx = (x - size / 2.0) / size, dy = (y - size / 2.0) / size;
				double v = 200.0 - 300.0 * (dx * dx + 0.6 * dy * dy) + 10.0 * (i % 7) +
				    (double)(rng_u32(&r) % 9) - 4.0;
				p[(size_t)y * size + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
		snprintf(path, sizeof path, "%s/synth_%03d.png", argv[0], i);
		if (png_write_file(path, &t, err, sizeof err) < 0)
			die("%s", err);
	}
	tensor_free(&t);
	return 0;
}

static int
cmd_decode(int argc, char **argv)
{
	int rounds = 3, nf;
	struct file *files;
	double best_bare = 1e30, best_rp = 1e30, mb = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;
	char err[256];

	if (argc >= 2 && strcmp(argv[0], "-r") == 0) {
		rounds = atoi(argv[1]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 1 || rounds < 1)
		die_usage("decode [-r ROUNDS] FILE...");
	nf = argc;
	files = XNEW(struct file, (size_t)nf);
	for (int i = 0; i < nf; i++)
		if (file_read_all(argv[i], &files[i].p, &files[i].len) < 0)
			die("%s: cannot read", argv[i]);
	for (int r = 0; r < rounds; r++) {
		double t0 = now(), t1, t2;
		size_t bytes = 0;
		for (int i = 0; i < nf; i++) {
			size_t n = bare_decode(&files[i], &buf, &cap);
			if (n == 0)
				die("%s: bare libpng failed", argv[i]);
			bytes += n;
		}
		t1 = now();
		for (int i = 0; i < nf; i++) {
			struct tensor t;
			if (png_decode(files[i].p, files[i].len, 0, &t, NULL, err, sizeof err) < 0)
				die("%s: %s", argv[i], err);
			tensor_free(&t);
		}
		t2 = now();
		mb = (double)bytes / 1e6;
		if (t1 - t0 < best_bare)
			best_bare = t1 - t0;
		if (t2 - t1 < best_rp)
			best_rp = t2 - t1;
	}
	printf("files %d  pixels %.1f MB  bare %.4f s (%.1f img/s, %.0f MB/s)  "
	    "radpipe %.4f s (%.1f img/s, %.0f MB/s)  ratio %.3f\n",
	    nf, mb, best_bare, nf / best_bare, mb / best_bare, best_rp, nf / best_rp,
	    mb / best_rp, best_rp / best_bare);
	for (int i = 0; i < nf; i++)
		free(files[i].p);
	free(files);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	err_init(argv[0]);
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "decode") == 0)
		return cmd_decode(argc - 2, argv + 2);
	fprintf(stderr, "usage: bench_png gen DIR N SIZE | decode [-r ROUNDS] FILE...\n");
	return 2;
}
