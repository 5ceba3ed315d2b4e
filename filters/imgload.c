/* imgload — image files or class folders -> sample frames.
 *
 * Class folders are found and ordered exactly like Keras'
 * flow_from_directory: sub-directory names sorted, label = rank, or labels
 * come from a table (--labels), or several labels per image from a
 * multi-label table (--targets, --label-map: targets.h).  Files are read once per epoch, or once in
 * all when the decoded frames are cached.  A multi-frame DICOM file gives
 * one sample per frame, its id suffixed "#k" (k from 1).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dataset.h"
#include "epochorder.h"
#include "err.h"
#include "fileio.h"
#include "framecache.h"
#include "frame.h"
#include "image.h"
#include "imagefile.h"
#include "resize.h"
#include "rng.h"
#include "sampleframe.h"
#include "samplelabel.h"
#include "workpool.h"

static const char synopsis[] =
"usage: imgload [options] PATH...\n"
"  PATH is a folder of class folders, a folder of images, an image file,\n"
"  or @LIST (a file naming one image per line, optionally TAB class)\n";

/* Default --max-pixels: 10^8, so a 10000 x 10000 mammogram still loads. */
#define IMGLOAD_MAX_PIXELS 100000000ull

struct options {
	int h, w;               /* 0: keep */
	enum interp interp;
	int channels;
	int keep16;
	int epochs;
	int epochs_given;
	int shuffle;
	uint64_t seed;
	int seed_given;
	size_t cache_bytes;
	int skip_bad;
	uint64_t max_pixels;    /* 0: no limit */
	const char *classes;
	struct dicom_opts dicom;
	const char *labels;     /* --labels FILE */
	char **paths;           /* the PATH operands */
	int npaths;
	int label_key;          /* LK_* (samplelabel.h) */
	int label_key_given;
	int skip_unlabeled;
	const char *targets;    /* --targets FILE.csv */
	const char *label_map;  /* --label-map FILE.tsv */
	struct targets_opts topt;       /* --target-names, --uncertain */
	int shard_rank;         /* --shard R/S: this rank R ... */
	int shard_size;         /* ... of S (1: no sharding) */
	int shard_even;         /* --shard-even: every rank floor(n/S) images */
	int jobs;               /* --jobs: decoding threads; 0: one per CPU */
};

static void
set_size(void *p, const char *s)
{
	struct options *o = p;

	cli_size(s, "--size", 1, 1, 65536, &o->h, &o->w);
}

static void
set_interp(void *p, const char *s)
{
	int how = interp_parse(s);

	if (how < 0)
		die_usage("--interp: unknown method '%s' (nearest, bilinear, area)", s);
	*(enum interp *)p = how;
}

static void
set_channels(void *p, const char *s)
{
	int *c = p;

	if ((*c = (int)cli_int(s, "--channels", 1, 3)) == 2)
		die_usage("--channels: must be 1 or 3");
}

static void
set_depth(void *p, const char *s)
{
	int *keep16 = p;
	int d = (int)cli_int(s, "--depth", 8, 16);

	if (d != 8 && d != 16)
		die_usage("--depth: must be 8 or 16");
	*keep16 = d == 16;
}

static void
set_cache(void *p, const char *s)
{
	*(size_t *)p = (size_t)cli_int(s, "--cache-mb", 0, 1 << 24) << 20;
}

/* --window (preset 0) or --window-preset (preset 1) into d. */
static void
parse_window(const char *s, int preset, struct dicom_opts *d)
{
	static const char *const presets[] = { "lung", "mediastinum", "soft", "bone", "brain", NULL };
	static const double cw[][2] = { { -600, 1500 }, { 50, 350 }, { 40, 400 }, { 400, 1800 }, { 40, 80 } };
	static const char *const modes[] = { "file", "range", "minmax", NULL };
	static const enum dicom_voi_mode mode[] = { DICOM_VOI_FILE, DICOM_VOI_RANGE, DICOM_VOI_MINMAX };

	if (preset) {
		int i = cli_choice(s, "--window-preset", presets);
		d->voi = DICOM_VOI_WINDOW;
		d->center = cw[i][0];
		d->width = cw[i][1];
	} else if (strchr(s, ',') == NULL) {
		d->voi = mode[cli_choice(s, "--window", modes)];
	} else {
		d->voi = DICOM_VOI_WINDOW;
		cli_pair(s, "--window", &d->center, &d->width);
		if (!(d->width >= 1))
			die_usage("--window: the width must be at least 1, got '%s'", s);
	}
}

/* The patient key from --patient-key-file or $RADPIPE_PATIENT_KEY
 * (trailing white space dropped); none: no patient key. */
static void
load_patient_key(const char *file, struct dicom_opts *d)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	const char *env = getenv("RADPIPE_PATIENT_KEY");

	if (file) {
		if (file_read_all(file, &buf, &n) < 0)
			die("--patient-key-file %s: %s", file, strerror(errno));
	} else if (env && *env) {
		n = strlen(env);
		buf = (uint8_t *)xstrdup(env);
	} else {
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n == 0)
		die("%s: the patient key is empty", file ? file : "RADPIPE_PATIENT_KEY");
	d->key = buf;           /* freed at the end of main */
	d->keylen = n;
}

static void
set_window(void *p, const char *s)
{
	parse_window(s, 0, p);
}

static void
set_window_preset(void *p, const char *s)
{
	parse_window(s, 1, p);
}

/* The rank and size of this process from the first of the launchers'
 * variable pairs that is set (--shard auto); dies (usage) when none is. */
static void
shard_from_env(struct options *o)
{
	static const char *const vars[][2] = {
		{ "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE" },     /* Open MPI's mpirun */
		{ "PMI_RANK", "PMI_SIZE" },                             /* MPICH, Intel MPI */
		{ "SLURM_PROCID", "SLURM_NTASKS" },                     /* srun */
	};
	const char *r, *n;

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		if ((r = getenv(vars[i][0])) == NULL || *r == '\0')
			continue;
		if ((n = getenv(vars[i][1])) == NULL || *n == '\0')
			die_usage("--shard auto: %s is set but %s is not", vars[i][0], vars[i][1]);
		o->shard_size = (int)cli_int(n, vars[i][1], 1, 1 << 20);
		o->shard_rank = (int)cli_int(r, vars[i][0], 0, (1 << 20) - 1);
		if (o->shard_rank >= o->shard_size)
			die_usage("--shard auto: %s=%s is not below %s=%s", vars[i][0], r, vars[i][1], n);
		return;
	}
	die_usage("--shard auto: no launcher set the rank (OMPI_COMM_WORLD_RANK, PMI_RANK or "
	    "SLURM_PROCID); give --shard R/S");
}

/* --shard R/S (0 <= R < S) or auto. */
static void
set_shard(void *p, const char *s)
{
	struct options *o = p;
	const char *slash = strchr(s, '/');
	char r[32];

	if (strcmp(s, "auto") == 0) {
		shard_from_env(o);
		return;
	}
	if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof r)
		die_usage("--shard: expected RANK/SIZE (e.g. 0/4) or auto, got '%s'", s);
	memcpy(r, s, (size_t)(slash - s));
	r[slash - s] = '\0';
	o->shard_size = (int)cli_int(slash + 1, "--shard (the size)", 1, 1 << 20);
	o->shard_rank = (int)cli_int(r, "--shard (the rank)", 0, (1 << 20) - 1);
	if (o->shard_rank >= o->shard_size)
		die_usage("--shard %s: the rank must be below the size (0 to %d)", s, o->shard_size - 1);
}

/* The checks between options, after parsing. */
static void
check_options(const struct options *o)
{
	if (o->targets && o->labels)
		die_usage("--targets and --labels: give one (a multi-label or a single-label table)");
	if (!o->targets && (o->label_map || o->topt.names || o->topt.uncertain))
		die_usage("--label-map, --target-names and --uncertain go with --targets");
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const char *const unlabeled[] = { "error", "skip", NULL };
	static const char *const uncertain[] = { "unknown", "ones", "zeros", NULL };
	const char *keyfile = NULL;
	const struct cli_opt opts[] = {
		CLI_CALL("size", 0, "N | HxW", "resize to N x N or H x W (height x width;\ndefault: keep size)", set_size, o),
		CLI_CALL("interp", 0, "nearest|bilinear|area", "resampling (default nearest, as Keras)", set_interp, &o->interp),
		CLI_CALL("channels", 0, "1|3", "output channels (default 3: gray is replicated)", set_channels, &o->channels),
		CLI_CALL("depth", 0, "8|16", "16: keep 16-bit samples as u16 (default 8)", set_depth, &o->keep16),
		CLI_INT("epochs", 0, "N", "emit the data N times, an epoch frame before each", &o->epochs, 1, 1000000,
		    .given = &o->epochs_given),
		CLI_FLAG("shuffle", 0, "shuffle every epoch (reproducible with --seed)", &o->shuffle),
		CLI_OPT_SEED("seed of the shuffle (default: from the OS,\nprinted on stderr)", &o->seed,
		    .given = &o->seed_given),
		CLI_OPT_CLASSES("sorted folders", &o->classes),
		CLI_CALL("shard", 0, "R/S|auto", "emit only positions p of each epoch's order with\n"
		    "p % S == R (auto: the rank and size from mpirun/srun)", set_shard, o),
		CLI_FLAG("shard-even", 0, "first drop the last n % S positions of each epoch,\n"
		    "so that every rank gets floor(n/S) images", &o->shard_even),
		CLI_CALL("cache-mb", 0, "N", "keep up to N MiB of decoded frames for later epochs\n(default 2048; 0 disables)",
		    set_cache, &o->cache_bytes),
		CLI_OPT_JOBS("decode N images at once on N threads (default 1;\n0 or auto: one per CPU); the output is the same\nbytes for any N", &o->jobs),
		CLI_FLAG("skip-bad", 0, "warn about unreadable images and go on", &o->skip_bad),
		CLI_U64("max-pixels", 0, "N", "refuse an image (a frame) of more than N pixels,\nwidth x height, before "
		    "decoding it (default\n100000000; 0: no limit)", &o->max_pixels),
		CLI_TEXT("DICOM:"),
		CLI_CALL("window", 0, "C,W|file|range|minmax", "VOI: a window, the file's (default),\nthe full stored "
		    "range, or the frame's min..max", set_window, &o->dicom),
		CLI_CALL("window-preset", 0, "NAME", "lung -600,1500  mediastinum 50,350  soft 40,400\nbone 400,1800  "
		    "brain 40,80", set_window_preset, &o->dicom),
		CLI_STR("patient-key-file", 0, "F", "key for meta.dicom.patient_key = HMAC-SHA256(key,\nPatientID) "
		    "(else $RADPIPE_PATIENT_KEY; none: no key)", &keyfile),
		CLI_FLAG("keep-patient-id", 0, "also copy PatientID itself into meta.dicom", &o->dicom.keep_patient_id),
		CLI_TEXT("Labels from a table:"),
		CLI_STR("labels", 0, "FILE.csv", "header line, then KEY,CLASS lines; folders are then\nnot classes",
		    &o->labels),
		CLI_CHOICE("label-key", 0, "id|name|stem|sop|series|study|patient", "what KEY is (default id;\n"
		    "--targets: id, then name)", &o->label_key, labelling_keys, .given = &o->label_key_given),
		CLI_CHOICE("unlabeled", 0, "error|skip", "a sample with no label (no row): stop (default)\nor skip it",
		    &o->skip_unlabeled, unlabeled),
		CLI_TEXT("Multi-label targets from a table (see imgload(1), Multi-label tables):"),
		CLI_STR("targets", 0, "FILE.csv", "several labels per image: a \"Finding Labels\" column\n"
		    "(A|B|C, ChestX-ray14) or one column per label\n(1, 0, -1 uncertain, empty unknown)", &o->targets),
		CLI_STR("label-map", 0, "FILE.tsv", "SOURCE_COLUMN SOURCE_VALUE TARGET 1|0|unknown rows\n"
		    "mapping the table's labels onto the targets", &o->label_map),
		CLI_STR("target-names", 0, "A,B,...", "the target list and its order (default: the map's,\n"
		    "else the sorted findings, else the label columns)", &o->topt.names),
		CLI_CHOICE("uncertain", 0, "unknown|ones|zeros", "a -1 cell without a map (default unknown)",
		    &o->topt.uncertain, uncertain),
		CLI_END
	};
	int i;

	*o = (struct options){ .interp = INTERP_NEAREST, .channels = 3, .epochs = 1,
	                       .cache_bytes = (size_t)2048 << 20,
	                       .max_pixels = IMGLOAD_MAX_PIXELS, .shard_size = 1, .jobs = 1 };
	i = cli_parse(argc, argv, synopsis, opts);
	load_patient_key(keyfile, &o->dicom);
	if (i >= argc)
		die_usage("no input: give a folder, an image file or @LIST");
	o->paths = argv + i;
	o->npaths = argc - i;
	check_options(o);
	if (o->shuffle && !o->seed_given) {
		o->seed = rng_os_seed();
		info("shuffle seed %llu", (unsigned long long)o->seed);
	}
}

/* What decoding one file has to say, said by the main thread in input
 * order (the file may be decoded on a worker thread). */
struct notes {
	int no_patient_key;     /* a PatientID and no key to hash it with */
	int missing;            /* skipped: no row/label (--unlabeled skip) */
	char missing_note[1200];
};

/* Says what n holds (the patient key warning once per run; the first 5
 * samples without a row or label, counted in *missing) and empties it. */
static void
say_notes(struct notes *n, int *warned, size_t *missing)
{
	if (n->missing && (*missing)++ < 5)
		info("%s", n->missing_note);
	if (n->no_patient_key && !(*warned)++)
		warnx("no patient key (--patient-key-file or RADPIPE_PATIENT_KEY): "
		    "meta.dicom.patient_key is left out");
	*n = (struct notes){ 0 };
}

/* Appends n bytes at p to *bufP (*lenP bytes); *bufP NULL: p itself
 * (malloc'd) becomes the buffer.  Returns 0, or -1 when out of memory. */
static int
append(char **bufP, size_t *lenP, char *p, size_t n)
{
	char *more;

	if (*bufP == NULL) {
		*bufP = p;
		*lenP = n;
		return 0;
	}
	more = *lenP + n >= *lenP ? realloc(*bufP, *lenP + n + 1) : NULL;
	if (more == NULL) {
		free(p);
		return -1;
	}
	memcpy(more + *lenP, p, n);
	free(p);
	*bufP = more;
	*lenP += n;
	return 0;
}

/* Converts decoded image t to the options' channels and size (resizing
 * first when channels are added, so the larger image is never made).
 * Returns 0, or -1 with the reason in err (out of memory). */
static int
shape_image(const struct options *o, struct tensor *t, int *gray_rgb, char *err, size_t errlen)
{
	struct tensor r;
	int grow = t->shape[2] < o->channels;

	*gray_rgb = 0;
	if (!grow && image_to_channels(t, o->channels, gray_rgb) < 0)
		goto oom;
	if (o->h > 0) {
		if (resize_image(t, o->h, o->w, o->interp, &r, err, errlen) < 0)
			return -1;
		tensor_free(t);
		*t = r;
	}
	if (grow && image_to_channels(t, o->channels, gray_rgb) < 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory converting a %lldx%lld image to %d channel%s",
	    (long long)t->shape[1], (long long)t->shape[0], o->channels, o->channels == 1 ? "" : "s");
	return -1;
}

/* Encodes the nframes frames of image f, opened from item it, appending
 * them to *outP and *lenP.  Returns 0 or -1 with the reason in err. */
static int
encode_frames(const struct options *o, const struct dataset *ds, const struct labelling *lab,
    const struct ds_item *it, struct image_file *f, int nframes, const char *hex,
    char **outP, size_t *lenP, struct notes *notes, char *err, size_t errlen)
{
	for (int k = 0; k < nframes; k++) {
		struct image_info ii;
		struct tensor t;
		struct ds_item s = *it;
		const signed char *tv = NULL;
		char id[4096];
		int gray_rgb = 0, rc = 1;
		size_t n;
		char *buf;

		if (image_frame(f, k, &t, &ii, err, errlen) < 0)
			return -1;
		if (nframes > 1) {
			if ((size_t)snprintf(id, sizeof id, "%s#%d", it->id, k + 1) >= sizeof id) {
				tensor_free(&t);
				snprintf(err, errlen, "the path is too long for a frame id");
				return -1;
			}
			s.id = id;
		}
		if (ii.dicom && ii.dicom->has_patient_id && o->dicom.key == NULL)
			notes->no_patient_key = 1;
		if (lab && (rc = labelling_find(lab, it, &s, &ii, &tv, notes->missing_note,
		    sizeof notes->missing_note, err, errlen)) <= 0) {
			tensor_free(&t);
			if (rc < 0)
				return -1;
			notes->missing = 1;
			continue;
		}
		if (shape_image(o, &t, &gray_rgb, err, errlen) < 0) {
			tensor_free(&t);
			return -1;
		}
		struct sample_targets st = { lab ? lab->tg.k : 0, lab ? lab->tg.names : NULL, tv };
		buf = sample_frame_encode_targets(ds, &s, &t, &ii, hex, gray_rgb, tv ? &st : NULL, &n);
		tensor_free(&t);
		if (buf == NULL || append(outP, lenP, buf, n) < 0) {
			snprintf(err, errlen, "out of memory encoding the sample");
			return -1;
		}
	}
	return 0;
}

/* Encodes the sample frames of item it into a new buffer (*outP, *lenP;
 * empty when every frame was left out).  Returns 0, IMAGE_SKIP with a note
 * in err when the file holds no image, or -1 with the reason in err. */
static int
encode_sample(const struct options *o, const struct dataset *ds, const struct labelling *lab,
    const struct ds_item *it, char **outP, size_t *lenP, struct notes *notes, char *err,
    size_t errlen)
{
	struct image_opts io = { .keep16 = o->keep16, .dicom = &o->dicom, .max_pixels = o->max_pixels };
	struct image_file *f;
	struct image_info ii;
	char hex[65];
	int rc;

	*outP = NULL;
	*lenP = 0;
	if ((rc = image_open_path(it->path, &io, &f, &ii, hex, err, errlen)) != 0)
		return rc;
	rc = encode_frames(o, ds, lab, it, f, ii.frames, hex, outP, lenP, notes, err, errlen);
	image_close(f);
	if (rc < 0) {
		free(*outP);
		*outP = NULL;
	} else if (*outP == NULL) {
		*outP = xmalloc(0);
	}
	return rc;
}

struct cache {
	struct framecache fc;   /* frames by item index, within --cache-mb */
	char last_skip[600];    /* the last "not an image" note, for the error */
};

static void
write_epoch(struct frame_writer *w, int index, int count)
{
	struct fb *b = fb_begin();

	fb_str(b, "kind", "epoch");
	fb_int(b, "index", index);
	fb_int(b, "count", count);
	fb_write(b, w);
}

/* One place of the output: an epoch frame, or item i of an epoch's order,
 * decoded on a worker thread unless the cache held it when submitted. */
struct load {
	int epoch;              /* >= 0: the epoch frame of this index */
	size_t i;
	struct ds_item item;    /* read on the main thread; its own path and id */
	const char *kept;       /* the cache's frames of item i when submitted (not decoded) */
	size_t kept_len;
	int rc;                 /* encode_sample's */
	char *buf;
	size_t len;
	struct notes notes;
	char err[512];
};

/* What the workers read (never written while they run). */
struct loader {
	const struct options *o;
	const struct dataset *ds;
	const struct labelling *lab;
};

/* What the main thread writes to, handing the loads back in order. */
struct output {
	const struct options *o;
	struct cache *c;
	struct frame_writer *w;
	struct workpool *p;
	size_t written;         /* sample bytes so far */
	int warned;             /* the patient key warning was given */
	size_t missing;         /* samples skipped without a row or label */
};

static void
load_job(void *ctx, void *job)
{
	const struct loader *l = ctx;
	struct load *j = job;

	if (j->epoch < 0 && j->kept == NULL)
		j->rc = encode_sample(l->o, l->ds, l->lab, &j->item, &j->buf, &j->len, &j->notes,
		    j->err, sizeof j->err);
}

/* Writes item j->i's frames, from the cache when they were there at
 * submission, or when another load of the same item, in flight with this
 * one (several threads, several epochs), has cached them since (then this
 * second decoding is dropped, notes and all); caches them if there is
 * room.  The cache never drops a frame, so what it held at submission it
 * still holds.  Returns the bytes written (0: the item gave no sample). */
static size_t
emit(struct output *out, struct load *j)
{
	const struct options *o = out->o;
	struct cache *c = out->c;
	size_t i = j->i, len = j->len;
	const char *kept = j->kept;
	char *buf = j->buf;

	if (kept != NULL)
		len = j->kept_len;
	else if (o->epochs > 1 && workpool_threads(out->p) > 1)
		kept = framecache_get(&c->fc, i, &len);
	if (kept != NULL) {
		free(buf);
		if (len > 0)
			frame_write_bytes(out->w, kept, len);
		return len;
	}
	say_notes(&j->notes, &out->warned, &out->missing);
	if (j->rc == IMAGE_SKIP) {
		info("%s: %s", j->item.path, j->err);
		snprintf(c->last_skip, sizeof c->last_skip, "%s: %s", j->item.path, j->err);
		buf = xmalloc(0);
		len = 0;
	} else if (j->rc < 0) {
		if (!o->skip_bad) {
			workpool_stop(out->p);  /* no decoding goes on while exiting */
			die("%s: %s", j->item.path, j->err);
		}
		warnx("%s: %s (skipped)", j->item.path, j->err);
		return 0;
	}
	if (len > 0)
		frame_write_bytes(out->w, buf, len);
	if (o->epochs == 1 || !framecache_put(&c->fc, i, buf, len))
		free(buf);
	return len;
}

/* Writes the oldest load in flight and frees it. */
static void
finish_load(struct output *out)
{
	struct load *j = workpool_next(out->p);

	if (j->epoch >= 0)
		write_epoch(out->w, j->epoch, out->o->epochs);
	else
		out->written += emit(out, j);
	free(j->item.path);
	free(j->item.id);
	free(j);
}

/* Hands load j to the workers (with --jobs 1: loads and writes it now). */
static void
submit_load(struct output *out, struct load *j)
{
	while (workpool_full(out->p))
		finish_load(out);
	workpool_submit(out->p, j);
	if (workpool_threads(out->p) == 1)
		finish_load(out);
}

/* Writes every epoch: this rank's positions p % S == R, p < end, of each
 * epoch's order. */
static void
run_epochs(const struct options *o, struct dataset *ds, struct output *out, size_t end)
{
	struct epoch_order ord;
	char err[512];

	epoch_order_init(&ord, 0);
	for (int e = 0; e < o->epochs; e++) {
		if (epoch_order_make(&ord, ds->n, o->shuffle, o->seed, (uint64_t)e, err, sizeof err) < 0)
			die("%s", err);
		if (o->epochs_given) {
			struct load *j = xcalloc(1, sizeof *j);
			j->epoch = e;
			submit_load(out, j);
		}
		for (size_t p = (size_t)o->shard_rank; p < end; p += (size_t)o->shard_size) {
			struct load *j = xcalloc(1, sizeof *j);
			j->epoch = -1;
			if (epoch_order_at(&ord, p, &j->i, err, sizeof err) < 0 ||
			    dataset_item(ds, j->i, &j->item, err, sizeof err) < 0) {
				workpool_stop(out->p);
				die("%s", err);
			}
			/* the worker's own strings: dataset_item's live until its next call */
			j->item.path = xstrdup(j->item.path);
			j->item.id = xstrdup(j->item.id);
			j->kept = framecache_get(&out->c->fc, j->i, &j->kept_len);
			submit_load(out, j);
		}
	}
	while (workpool_pending(out->p) > 0)
		finish_load(out);
	epoch_order_free(&ord);
}

/* Says what was found: the images of each class (the first few named),
 * and those without a class. */
static void
say_found(const struct options *o, const struct dataset *ds)
{
	char msg[1024];
	size_t len = 0, unlabelled = ds->unlabelled;

	if (o->labels) {
		info("%zu image%s; labels from %s (%d classes)", ds->n, ds->n == 1 ? "" : "s",
		    o->labels, ds->nclasses);
	} else if (unlabelled == ds->n) {
		info("%zu unlabelled image%s (no class folders)", ds->n, ds->n == 1 ? "" : "s");
	} else {
		for (int c = 0; c < ds->nclasses && len < sizeof msg - 100; c++) {
			if (c == 8 && ds->nclasses > 9) {
				len += (size_t)snprintf(msg + len, sizeof msg - len, ", ... %d more",
				    ds->nclasses - c);
				break;
			}
			len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%.60s: %zu",
			    c ? ", " : "", ds->classes[c], ds->count[c]);
		}
		info("%zu image%s in %d class%s (%s)", ds->n - unlabelled,
		    ds->n - unlabelled == 1 ? "" : "s", ds->nclasses, ds->nclasses == 1 ? "" : "es", msg);
		if (unlabelled)
			info("and %zu unlabelled image%s (not in a class folder)", unlabelled,
			    unlabelled == 1 ? "" : "s");
	}
}

/* Loads --targets (with --label-map) and says what it holds. */
static void
setup_targets(const struct options *o, struct dataset *ds, struct labelling *lab)
{
	char err[4608], never[512] = "";
	size_t len = 0;

	if (labelling_load_targets(lab, o->targets, o->label_map, &o->topt, err, sizeof err) < 0)
		die("%s", err);
	for (int i = 0; i < lab->tg.k && len < sizeof never - 80; i++)
		if (lab->tg.unmapped[i])
			len += (size_t)snprintf(never + len, sizeof never - len, "%s%.60s", len ? ", " : "",
			    lab->tg.names[i]);
	info("%zu image%s; %d targets from %s (%zu rows, %s layout)%s%s%s", ds->n, ds->n == 1 ? "" : "s",
	    lab->tg.k, o->targets, lab->tg.rows, lab->tg.layout == TARGETS_FINDINGS ? "findings" : "columns",
	    len ? "; never annotated there (unknown): " : "", never, "");
}

/* --labels or --targets, and what was found. */
static void
setup_tables(const struct options *o, struct dataset *ds, struct labelling *lab)
{
	char err[4608];

	lab->key = o->label_key;
	lab->key_given = o->label_key_given;
	lab->skip = o->skip_unlabeled;
	if (o->labels && labelling_load_labels(lab, o->labels, ds, o->classes != NULL, err, sizeof err) < 0)
		die("%s", err);
	if (o->targets)
		setup_targets(o, ds, lab);       /* says what it found */
	else
		say_found(o, ds);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct dataset ds;
	struct cache c = { 0 };
	struct labelling lab = { 0 };
	struct loader l = { &o, &ds, NULL };
	struct output out = { &o, &c, NULL, NULL, 0, 0, 0 };
	size_t end, mine;
	char err[4608];
	int rc;

	parse_command_line(argc, argv, &o);
	rc = (o.labels || o.targets ? dataset_collect_unlabelled : dataset_collect)(&ds, o.paths,
	    o.npaths, o.classes, err, sizeof err);
	if (rc == -2)
		die_usage("%s", err);
	if (rc < 0)
		die("%s", err);
	setup_tables(&o, &ds, &lab);
	l.lab = o.labels || o.targets ? &lab : NULL;
	out.w = frame_writer_fd(1, "stdout");
	c.fc.limit = o.cache_bytes;
	ds.shard_rank = o.shard_rank;
	ds.shard_size = o.shard_size;
	/* this rank's positions of each epoch's order: p % S == R, p < end */
	end = ds.n - (o.shard_even ? ds.n % (size_t)o.shard_size : 0);
	mine = end > (size_t)o.shard_rank ? (end - (size_t)o.shard_rank - 1) / (size_t)o.shard_size + 1 : 0;
	if (o.shard_size > 1)
		info("shard %d/%d: %zu of the %zu images per epoch", o.shard_rank, o.shard_size, mine, ds.n);
	if ((out.p = workpool_new(o.jobs, 0, load_job, &l, err, sizeof err)) == NULL)
		die("%s", err);
	run_epochs(&o, &ds, &out, end);
	workpool_free(out.p);
	if (out.missing)
		warnx("%zu sample%s without a row in %s skipped", out.missing, out.missing == 1 ? "" : "s",
		    o.targets ? o.targets : o.labels);
	if (out.written == 0 && mine > 0)
		die("no sample loaded from %zu file(s)%s%s", mine, c.last_skip[0] ? "; last: " : "", c.last_skip);
	frame_writer_close(out.w);
	framecache_free(&c.fc);
	labelling_free(&lab);
	dataset_free(&ds);
	free((void *)o.dicom.key);
	stdout_finish();
	return 0;
}
