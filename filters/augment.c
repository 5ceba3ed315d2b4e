/* augment — random affine and intensity transforms of sample and batch
 * frames, as Keras' ImageDataGenerator.random_transform does them.
 *
 * Each image gets its own Philox stream keyed on (seed, epoch, hash of its
 * id), so the output never depends on how the stream was split among
 * processes.  The geometric part (rotation, shift, shear, zoom, flips) is one
 * affine matrix applied in one pass (libshared/affine.c); the intensity part
 * follows.  What was applied is appended to the image's meta.augment.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affine.h"
#include "cli.h"
#include "err.h"
#include "frame.h"
#include "rng.h"
#include "workpool.h"

static const char synopsis[] = "usage: augment [options] < frames > frames\n";

struct options {
	struct affine_ranges rg;
	int geometric;          /* any geometric option given */
	enum affine_fill fill;
	enum affine_interp interp;
	double cval;
	double invert;          /* probability */
	double brightness;      /* factor ~ U(1-D, 1+D); 0 = off */
	double contrast;        /* likewise */
	double gamma_lo, gamma_hi;      /* 1,1 = off */
	double noise;           /* sigma as a fraction of full scale; 0 = off */
	int intensity;          /* any intensity transform that is not the identity */
	uint64_t seed;
	int seed_given;
	int jobs;               /* worker threads; 0: one per CPU */
};

/* What was drawn for one image. */
struct draw {
	struct affine_params p;
	double m[9];            /* the centred Keras matrix, flips not included */
	int invert;
	double brightness, contrast, gamma;     /* 1 when off */
};

/* Parses a shift: a fraction of the size in [0, 1], or pixels with "px". */
static void
parse_shift(const char *s, const char *opt, double *v, int *px)
{
	size_t n = strlen(s);
	char buf[64];

	*px = n > 2 && strcmp(s + n - 2, "px") == 0;
	if (!*px) {
		*v = cli_double(s, opt, 0, 1);
		return;
	}
	if (n - 2 >= sizeof buf)
		die_usage("%s: '%s' is too long", opt, s);
	memcpy(buf, s, n - 2);
	buf[n - 2] = '\0';
	*v = cli_double(buf, opt, 0, 1e6);
}

/* Parses "LO,HI" with lo <= LO <= HI <= hi. */
static void
parse_range(const char *s, const char *opt, double lo, double hi, double *a, double *b)
{
	cli_pair(s, opt, a, b);
	if (*a < lo || *b > hi || *a > *b)
		die_usage("%s: need %g <= LO <= HI <= %g, got '%s'", opt, lo, hi, s);
}

static void
set_gamma(void *p, const char *s)
{
	struct options *o = p;

	if (strchr(s, ','))
		parse_range(s, "--gamma", 0.01, 100, &o->gamma_lo, &o->gamma_hi);
	else
		o->gamma_lo = o->gamma_hi = cli_double(s, "--gamma", 0.01, 100);
}

static void
set_shift(void *p, const char *s)
{
	struct affine_ranges *rg = p;

	parse_shift(s, "--shift", &rg->hshift, &rg->hshift_px);
	rg->wshift = rg->hshift;
	rg->wshift_px = rg->hshift_px;
}

static void
set_hshift(void *p, const char *s)
{
	struct affine_ranges *rg = p;

	parse_shift(s, "--hshift", &rg->hshift, &rg->hshift_px);
}

static void
set_wshift(void *p, const char *s)
{
	struct affine_ranges *rg = p;

	parse_shift(s, "--wshift", &rg->wshift, &rg->wshift_px);
}

static void
set_shear_deg(void *p, const char *s)
{
	*(double *)p = M_PI / 180 * cli_double(s, "--shear", 0, 89);
}

static void
set_zoom(void *p, const char *s)
{
	struct affine_ranges *rg = p;
	double z = cli_double(s, "--zoom", 0, 0.99);

	rg->zoom_lo = 1 - z;
	rg->zoom_hi = 1 + z;
}

static void
set_zoom_range(void *p, const char *s)
{
	struct affine_ranges *rg = p;

	parse_range(s, "--zoom-range", 0.01, 100, &rg->zoom_lo, &rg->zoom_hi);
}

static void
set_fill(void *p, const char *s)
{
	static const char *const fills[] = { "constant", "nearest", "reflect", "wrap", NULL };

	*(enum affine_fill *)p = (enum affine_fill)cli_choice(s, "--fill", fills);
}

static void
set_interp(void *p, const char *s)
{
	static const char *const interps[] = { "nearest", "bilinear", NULL };

	*(enum affine_interp *)p = cli_choice(s, "--interp", interps) ?
	    AFFINE_INTERP_BILINEAR : AFFINE_INTERP_NEAREST;
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	struct affine_ranges *rg = &o->rg;
	int *geo = &o->geometric;
	const struct cli_opt opts[] = {
		CLI_TEXT("geometric (Keras ImageDataGenerator semantics, one resampling):"),
		CLI_DOUBLE("rotate", 0, "DEG", "rotation angle ~ U(-DEG, DEG)", &rg->rotate, 0, 180, .given = geo),
		CLI_CALL("shift", 0, "F", "--hshift F --wshift F", set_shift, rg, .given = geo),
		CLI_CALL("hshift", 0, "F", "row shift ~ U(-F, F) * height; 'Npx': pixels", set_hshift, rg, .given = geo),
		CLI_CALL("wshift", 0, "F", "column shift ~ U(-F, F) * width; 'Npx': pixels", set_wshift, rg, .given = geo),
		CLI_CALL("shear", 0, "DEG", "shear angle ~ U(-DEG, DEG) in degrees", set_shear_deg, &rg->shear, .given = geo),
		CLI_DOUBLE("shear-rad", 0, "R", "shear angle in radians (the paper: --shear-rad 0.2)", &rg->shear, 0, 1.55, .given = geo),
		CLI_CALL("zoom", 0, "Z", "zx, zy ~ U(1-Z, 1+Z) independently (<1 enlarges)", set_zoom, rg, .given = geo),
		CLI_CALL("zoom-range", 0, "LO,HI", "zx, zy ~ U(LO, HI)", set_zoom_range, rg, .given = geo),
		CLI_FLAG("hflip", 0, "flip left-right with probability 1/2 (after the warp)", &rg->hflip, .given = geo),
		CLI_FLAG("vflip", 0, "flip up-down with probability 1/2 (after the warp)", &rg->vflip, .given = geo),
		CLI_CALL("fill", 0, "MODE", "constant|nearest|reflect|wrap (default nearest)", set_fill, &o->fill),
		CLI_DOUBLE("cval", 0, "V", "value outside the image for --fill constant (0)", &o->cval, -1e30, 1e30),
		CLI_CALL("interp", 0, "MODE", "bilinear|nearest (default bilinear)", set_interp, &o->interp),
		CLI_TEXT("intensity (after the geometric part, in this order):"),
		CLI_DOUBLE("invert", 0, "P", "invert (max - x) with probability P", &o->invert, 0, 1),
		CLI_DOUBLE("brightness", 0, "D", "multiply by ~ U(1-D, 1+D)", &o->brightness, 0, 1),
		CLI_DOUBLE("contrast", 0, "D", "scale about the image mean by ~ U(1-D, 1+D)", &o->contrast, 0, 1),
		CLI_CALL("gamma", 0, "LO,HI | G", "max * (x/max)^g, g ~ U(LO, HI) (or exactly G)", set_gamma, o),
		CLI_DOUBLE("noise", 0, "SIGMA", "add gaussian noise, SIGMA a fraction of full scale", &o->noise, 0, 1),
		CLI_TEXT("randomness:"),
		CLI_OPT_SEED("seed (default: from the OS, printed on stderr)", &o->seed, .given = &o->seed_given),
		CLI_TEXT("speed:"),
		CLI_OPT_JOBS("images warped at once on N threads (default 1;\n0 or auto: one per CPU); the output is the same\nbytes for any N", &o->jobs),
		CLI_END
	};
	int i;

	memset(o, 0, sizeof *o);
	o->rg.zoom_lo = o->rg.zoom_hi = 1;
	o->gamma_lo = o->gamma_hi = 1;
	o->fill = AFFINE_FILL_NEAREST;
	o->interp = AFFINE_INTERP_BILINEAR;
	o->jobs = 1;
	i = cli_parse(argc, argv, synopsis, opts);
	if (i != argc)
		die_usage("unexpected argument '%s' (frames come on stdin)", argv[i]);
	o->intensity = o->invert > 0 || o->brightness > 0 || o->contrast > 0 || o->noise > 0 ||
	               o->gamma_lo != 1 || o->gamma_hi != 1;
	if (!o->seed_given)
		o->seed = rng_os_seed();
}

/* Draws the intensity parameters, in option order, after the geometry. */
static void
draw_intensity(const struct options *o, struct rng *r, struct draw *d)
{
	d->invert = o->invert > 0 && rng_uniform(r) < o->invert;
	d->brightness = d->contrast = d->gamma = 1;
	if (o->brightness > 0)
		d->brightness = rng_range(r, 1 - o->brightness, 1 + o->brightness);
	if (o->contrast > 0)
		d->contrast = rng_range(r, 1 - o->contrast, 1 + o->contrast);
	if (o->gamma_lo != o->gamma_hi)
		d->gamma = rng_range(r, o->gamma_lo, o->gamma_hi);
	else
		d->gamma = o->gamma_lo;
}

static double
clampd(double v, double max)
{
	return v < 0 ? 0 : v > max ? max : v;
}

/* Mean of n elements of an integer image. */
static double
image_mean(enum dtype dt, const void *data, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += dt == DT_U8 ? ((const uint8_t *)data)[i] : ((const uint16_t *)data)[i];
	return n ? s / (double)n : 0;
}

/* Fills lut[0..max] with the intensity map of d, before noise. */
static void
intensity_lut(const struct draw *d, double max, double mean, double *lut)
{
	for (size_t v = 0; v <= (size_t)max; v++) {
		double t = d->invert ? max - (double)v : (double)v;
		t *= d->brightness;
		t = clampd(mean + d->contrast * (t - mean), max);
		if (d->gamma != 1)
			t = max * pow(t / max, d->gamma);
		lut[v] = t;
	}
}

/* Applies invert, brightness, contrast, gamma and noise to n integer
 * elements in place; results rounded half away from zero and clamped. */
static void
apply_intensity(const struct options *o, const struct draw *d, struct rng *r,
                enum dtype dt, void *data, size_t n)
{
	double max = dt == DT_U8 ? 255 : 65535, sigma = o->noise * max, mean = 0;
	double *lut = XNEW(double, (size_t)max + 1);

	if (d->contrast != 1) {
		mean = image_mean(dt, data, n);
		mean = (d->invert ? max - mean : mean) * d->brightness;
	}
	intensity_lut(d, max, mean, lut);
	for (size_t i = 0; i < n; i++) {
		size_t v = dt == DT_U8 ? ((uint8_t *)data)[i] : ((uint16_t *)data)[i];
		double t = lut[v];
		if (sigma > 0)
			t = clampd(t + sigma * rng_normal(r), max);
		if (dt == DT_U8)
			((uint8_t *)data)[i] = (uint8_t)(t + 0.5);
		else
			((uint16_t *)data)[i] = (uint16_t)(t + 0.5);
	}
	free(lut);
}

/* Augments one h x w x c image src into dst with the stream of its id. */
static void
augment_image(const struct options *o, uint64_t epoch, const struct fval *id,
              enum dtype dt, const void *src, void *dst, const int64_t *hwc, struct draw *d)
{
	int64_t h = hwc[0], w = hwc[1], c = hwc[2];
	size_t n = (size_t)(h * w * c);
	struct affine_warp wp = { .fill = o->fill, .interp = o->interp, .cval = o->cval };
	struct rng r;
	size_t idlen = 0;
	const char *idp = fv_strp(id, &idlen);

	rng_init(&r, o->seed, epoch, rng_hash(idp, idlen));
	affine_draw(&o->rg, &r, h, w, &d->p);
	draw_intensity(o, &r, d);
	affine_matrix(&d->p, h, w, d->m);
	affine_flip(d->m, d->p.hflip, d->p.vflip, h, w, wp.m);
	if (affine_is_identity(wp.m) || n == 0)
		memcpy(dst, src, n * dtype_size(dt));
	else if (dt == DT_U8)
		affine_warp_u8(src, dst, h, w, c, &wp);
	else if (dt == DT_U16)
		affine_warp_u16(src, dst, h, w, c, &wp);
	else
		affine_warp_f32(src, dst, h, w, c, &wp);
	if (o->intensity)
		apply_intensity(o, d, &r, dt, dst, n);
}

/* Adds the meta.augment entry of one image. */
static void
add_entry(struct fb *b, const struct options *o, const struct draw *d, uint64_t epoch)
{
	fb_map(b, NULL);
	fb_uint(b, "seed", o->seed);
	fb_int(b, "epoch", (int64_t)epoch);
	if (o->geometric) {
		fb_nums(b, "matrix", d->m, 9);
		fb_bool(b, "hflip", d->p.hflip);
		fb_bool(b, "vflip", d->p.vflip);
		fb_num(b, "theta", d->p.theta);
		fb_num(b, "tx", d->p.tx);
		fb_num(b, "ty", d->p.ty);
		fb_num(b, "shear", d->p.shear);
		fb_num(b, "zx", d->p.zx);
		fb_num(b, "zy", d->p.zy);
		fb_str(b, "interp", affine_interp_name(o->interp));
		fb_str(b, "fill", affine_fill_name(o->fill));
		fb_num(b, "cval", o->cval);
	}
	if (o->invert > 0)
		fb_bool(b, "invert", d->invert);
	if (o->brightness > 0)
		fb_num(b, "brightness", d->brightness);
	if (o->contrast > 0)
		fb_num(b, "contrast", d->contrast);
	if (o->gamma_lo != 1 || o->gamma_hi != 1)
		fb_num(b, "gamma", d->gamma);
	if (o->noise > 0)
		fb_num(b, "noise", o->noise);
	fb_close(b);
}

/* Adds k: meta (a map, or NULL/other for none) with the entry appended to
 * its "augment" array (checked by check_metas). */
static void
add_meta(struct fb *b, const char *k, const struct fval *meta, const struct options *o,
         const struct draw *d, uint64_t epoch)
{
	static const char *const skip[] = { "augment", NULL };
	const struct fval *prior = fv_get(meta, "augment");

	fb_map(b, k);
	fb_rest(b, meta, skip);
	fb_array(b, "augment");
	for (size_t i = 0; i < fv_len(prior); i++)
		fb_value(b, NULL, fv_at(prior, i));
	add_entry(b, o, d, epoch);
	fb_close(b);
	fb_close(b);
}

/* What replaces x and the meta key of a frame. */
struct rewrite {
	const struct tensor *x;
	const struct options *o;
	const struct draw *d;
	size_t n;               /* images of a batch; 0 for a sample */
	uint64_t epoch;
};

/* The meta of image i of a frame whose meta value is v (rw->n images of a
 * batch under "metas"; a sample's under "meta"). */
static const struct fval *
meta_of(const struct rewrite *rw, const struct fval *v, size_t i)
{
	if (rw->n == 0)
		return v;
	return fv_type(v) == FV_ARRAY && fv_len(v) == rw->n ? fv_at(v, i) : NULL;
}

/* Adds k: x, or k: the meta ("meta") or metas ("metas", one per image of a
 * batch) of v with the draws recorded. */
static void
rewrite_entry(struct fb *b, const char *k, const struct fval *v, void *ctx)
{
	const struct rewrite *rw = ctx;

	if (strcmp(k, "x") == 0) {
		fb_tensor(b, k, rw->x);
	} else if (strcmp(k, "metas") == 0) {
		fb_array(b, k);
		for (size_t i = 0; i < rw->n; i++)
			add_meta(b, NULL, meta_of(rw, v, i), rw->o, &rw->d[i], rw->epoch);
		fb_close(b);
	} else {
		add_meta(b, k, v, rw->o, rw->d, rw->epoch);
	}
}

/* Appends f to out with x replaced and the draws recorded under "meta" for
 * a sample, "metas" for a batch of n; other keys keep their place.
 * Returns 0, or -1 (err) when a meta.augment is there but not an array. */
static int
build_frame(const struct frame *f, const struct tensor *x, const struct options *o,
            const struct draw *d, size_t n, uint64_t epoch, int batch, struct fbytes *out,
            char *err, size_t errlen)
{
	const char *mkey = batch ? "metas" : "meta";
	const char *const keys[] = { "x", mkey, NULL };
	struct rewrite rw = { x, o, d, batch ? n : 0, epoch };
	const struct fval *mv = frame_get(f, mkey);
	struct fb *b;

	for (size_t i = 0; i < (batch ? n : 1); i++) {
		const struct fval *prior = fv_get(meta_of(&rw, mv, i), "augment");
		if (prior && fv_type(prior) != FV_ARRAY) {
			snprintf(err, errlen, "meta.augment is not an array");
			return -1;
		}
	}
	b = fb_begin();
	fb_copy(b, f->root, keys, rewrite_entry, &rw);
	if (mv == NULL)
		rewrite_entry(b, mkey, NULL, &rw);
	fb_end(b, out);
	return 0;
}

/* Reads and checks tensor x of f (rank 3 for a sample, 4 for a batch) from
 * the stream called name.  Returns 0, or -1 with the reason in err. */
static int
get_pixels(const char *name, const struct frame *f, const struct options *o, int rank,
           struct tensor *t, char *err, size_t errlen)
{
	unsigned long long fi = (unsigned long long)f->index;
	const struct fval *v = frame_get(f, "x");
	char desc[128], why[256];

	if (v == NULL) {
		snprintf(err, errlen, "frame %llu (%.*s): no tensor 'x'", fi, (int)f->kind_len, f->kind);
		return -1;
	}
	if (fv_tensor(v, t, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: frame %llu (%.*s): x: %s", name, fi, (int)f->kind_len,
		    f->kind, why);
		return -1;
	}
	tensor_describe(t, desc, sizeof desc);
	if (t->rank != rank)
		snprintf(err, errlen, "frame %llu: x is %s: need rank %d (%s)", fi, desc, rank,
		    rank == 3 ? "HWC" : "NHWC");
	else if (t->dtype != DT_U8 && t->dtype != DT_U16 && t->dtype != DT_F32)
		snprintf(err, errlen, "frame %llu: x is %s: need u8, u16 or f32", fi, desc);
	else if (t->dtype == DT_F32 && o->intensity)
		snprintf(err, errlen, "frame %llu: x is %s: intensity options need u8 or u16", fi, desc);
	else
		return tensor_ensure_aligned(t), 0;
	return -1;
}

/* id if it is a string, else NULL with the reason in err. */
static const struct fval *
string_id(const struct frame *f, const struct fval *id, char *err, size_t errlen)
{
	if (fv_type(id) == FV_STR)
		return id;
	snprintf(err, errlen, "frame %llu (%.*s): no string id to key the random stream on",
	    (unsigned long long)f->index, (int)f->kind_len, f->kind);
	return NULL;
}

/* Augments sample frame f (from the stream called name) into out.
 * Returns 0, or -1 with the reason in err. */
static int
augment_sample(const char *name, const struct frame *f, const struct options *o,
               uint64_t epoch, struct fbytes *out, char *err, size_t errlen)
{
	const struct fval *id = frame_get(f, "id");
	struct tensor t, y;
	struct draw d;
	int rc;

	if ((id = string_id(f, id, err, errlen)) == NULL ||
	    get_pixels(name, f, o, 3, &t, err, errlen) < 0)
		return -1;
	tensor_alloc(&y, t.dtype, 3, t.shape);
	augment_image(o, epoch, id, t.dtype, t.data, y.data, t.shape, &d);
	rc = build_frame(f, &y, o, &d, 1, epoch, 0, out, err, errlen);
	tensor_free(&y);
	tensor_free(&t);
	return rc;
}

/* Augments batch frame f into out, as augment_sample. */
static int
augment_batch(const char *name, const struct frame *f, const struct options *o,
              uint64_t epoch, struct fbytes *out, char *err, size_t errlen)
{
	const struct fval *ids = frame_get(f, "ids");
	struct tensor t, y;
	struct draw *d;
	size_t n, item;
	int rc = 0;

	if (get_pixels(name, f, o, 4, &t, err, errlen) < 0)
		return -1;
	n = (size_t)t.shape[0];
	if (fv_type(ids) != FV_ARRAY || fv_len(ids) != n) {
		snprintf(err, errlen, "frame %llu (batch): need 'ids', an array of %zu strings",
		    (unsigned long long)f->index, n);
		tensor_free(&t);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (string_id(f, fv_at(ids, i), err, errlen) == NULL)
			rc = -1;
	if (rc < 0) {
		tensor_free(&t);
		return -1;
	}
	tensor_alloc(&y, t.dtype, 4, t.shape);
	d = XNEW(struct draw, n ? n : 1);
	item = n ? t.nbytes / n : 0;
	for (size_t i = 0; i < n; i++)
		augment_image(o, epoch, fv_at(ids, i), t.dtype, (const char *)t.data + i * item,
		              (char *)y.data + i * item, t.shape + 1, &d[i]);
	rc = build_frame(f, &y, o, d, n, epoch, 1, out, err, errlen);
	free(d);
	tensor_free(&y);
	tensor_free(&t);
	return rc;
}

/* The epoch an epoch frame starts: 0, or -1 with the reason in err. */
static int
epoch_index(const struct frame *f, uint64_t *epoch, char *err, size_t errlen)
{
	int64_t v;

	if (frame_int(f, "index", &v) != 1 || v < 0) {
		snprintf(err, errlen, "frame %llu (epoch): no non-negative integer 'index'",
		    (unsigned long long)f->index);
		return -1;
	}
	*epoch = (uint64_t)v;
	return 0;
}

/* One frame's work, done on a worker thread (or inline with --jobs 1):
 * a sample or batch to augment, or a frame to pass on as it is. */
struct job {
	const struct frame *f;  /* the reader's frame (inline) or copy's */
	struct frame_copy *copy;        /* with worker threads */
	uint64_t epoch;
	int augment;
	struct fbytes out;
	int rc;
	char err[512];
};

struct ctx {
	const struct options *o;
	const char *name;       /* of the input stream, for messages */
};

static void
run_job(void *vctx, void *vjob)
{
	const struct ctx *c = vctx;
	struct job *j = vjob;

	if (!j->augment)
		return;
	j->rc = (frame_is(j->f, "sample") ? augment_sample : augment_batch)(c->name, j->f, c->o,
	    j->epoch, &j->out, j->err, sizeof j->err);
}

/* The streams and the pool of a run, in one place in main's frame (where
 * they stay reachable, for ASan, when a helper dies). */
struct run {
	struct frame_reader *r;
	struct frame_writer *w;
	struct workpool *p;
};

/* Writes the oldest job's frame (or dies with its error, after stopping
 * the workers) and frees it. */
static void
finish_job(struct run *run)
{
	struct job *j = workpool_next(run->p);

	if (j->rc < 0) {
		workpool_stop(run->p);  /* no work goes on while exiting */
		die("%s", j->err);
	}
	if (j->augment)
		frame_write_bytes(run->w, j->out.data, j->out.len);
	else
		frame_write_raw(run->w, j->f);
	free(j->out.data);
	frame_copy_free(j->copy);
	free(j);
}

/* Writes every job in flight, in order (dying at the first that failed). */
static void
drain(struct run *run)
{
	while (workpool_pending(run->p) > 0)
		finish_job(run);
}

/* Reads the next frame into f and follows the epoch: 1, or 0 at the end
 * of the stream.  A bad frame dies only after the frames before it are
 * out, so that the first error in the stream is the one reported. */
static int
next_frame(struct run *run, struct frame *f, uint64_t n, uint64_t *epoch)
{
	char err[512];
	int s = frame_read(run->r, f);

	if (s < 0) {
		drain(run);
		die("%s: frame %llu: %s", frame_reader_name(run->r), (unsigned long long)n,
		    frame_reader_error(run->r));
	}
	if (s > 0 && frame_is(f, "epoch") && epoch_index(f, epoch, err, sizeof err) < 0) {
		drain(run);
		die("%s", err);
	}
	return s;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct run run;
	struct frame f;
	struct ctx c = { &o, "stdin" };
	char err[256];
	uint64_t epoch = 0;
	int active, serial;

	parse_command_line(argc, argv, &o);
	active = o.geometric || o.intensity;
	if (!o.seed_given)
		info("seed %llu", (unsigned long long)o.seed);
	if ((run.p = workpool_new(active ? o.jobs : 1, 0, run_job, &c, err, sizeof err)) == NULL)
		die("%s", err);
	serial = workpool_threads(run.p) == 1;
	run.r = frame_reader_fd(0, "stdin");
	run.w = frame_writer_fd(1, "stdout");
	for (uint64_t n = 0; next_frame(&run, &f, n, &epoch); n++) {
		struct job *j = xcalloc(1, sizeof *j);

		j->f = &f;
		j->epoch = epoch;
		j->augment = active && (frame_is(&f, "sample") || frame_is(&f, "batch"));
		/* a worker thread reads the frame after the reader has moved on */
		if (!serial)
			j->f = frame_copy_frame(j->copy = frame_copy_new(&f));
		while (workpool_full(run.p))
			finish_job(&run);
		workpool_submit(run.p, j);
		if (serial)
			finish_job(&run);
	}
	drain(&run);
	workpool_free(run.p);
	frame_writer_close(run.w);
	frame_reader_close(run.r);
	stdout_finish();
	return 0;
}
