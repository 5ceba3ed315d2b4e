/* imgload — image files or class folders -> sample frames.
 *
 * Class folders are found and ordered exactly like Keras'
 * flow_from_directory: sub-directory names sorted, label = rank.  Files are
 * read once per epoch, or once in all when the decoded frames are cached.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "image.h"
#include "resize.h"
#include "rng.h"
#include "sha256.h"

static const char usage[] =
"usage: imgload [options] PATH...\n"
"  PATH is a folder of class folders, a folder of images, an image file,\n"
"  or @LIST (a file naming one image per line, optionally TAB class)\n"
"  --size N | HxW        resize to N x N or H x W (default: keep size)\n"
"  --interp nearest|bilinear|area   resampling (default nearest, as Keras)\n"
"  --channels 1|3        output channels (default 3: gray is replicated)\n"
"  --depth 8|16          16: keep 16-bit samples as u16 (default 8)\n"
"  --epochs N            emit the data N times, an epoch frame before each\n"
"  --shuffle             shuffle every epoch (reproducible with --seed)\n"
"  --seed S              seed of the shuffle\n"
"  --classes A,B,...     class names and their order (default: sorted folders)\n"
"  --cache-mb N          keep up to N MiB of decoded frames for later epochs\n"
"                        (default 2048; 0 disables)\n"
"  --skip-bad            warn about unreadable images and go on\n"
"  -q, --quiet           no progress messages\n";

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
	char *classes;
};

static void
parse_size(const char *s, int *h, int *w)
{
	const char *x = strchr(s, 'x');
	char buf[32];

	if (x == NULL) {
		*h = *w = (int)cli_int(s, "--size", 1, 65536);
		return;
	}
	if ((size_t)(x - s) >= sizeof buf)
		die_usage("--size: bad value '%s'", s);
	memcpy(buf, s, (size_t)(x - s));
	buf[x - s] = '\0';
	*h = (int)cli_int(buf, "--size", 1, 65536);
	*w = (int)cli_int(x + 1, "--size", 1, 65536);
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "interp", required_argument, NULL, 'i' },
		{ "channels", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'd' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "shuffle", no_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'r' },
		{ "classes", required_argument, NULL, 'C' },
		{ "cache-mb", required_argument, NULL, 'm' },
		{ "skip-bad", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	*o = (struct options){ .interp = INTERP_NEAREST, .channels = 3, .epochs = 1,
	                       .cache_bytes = (size_t)2048 << 20 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': parse_size(optarg, &o->h, &o->w); break;
		case 'i': {
			int how = interp_parse(optarg);
			if (how < 0)
				die_usage("--interp: unknown method '%s' (nearest, bilinear, area)", optarg);
			o->interp = how;
			break;
		}
		case 'c': o->channels = (int)cli_int(optarg, "--channels", 1, 3);
			if (o->channels == 2)
				die_usage("--channels: must be 1 or 3");
			break;
		case 'd':
			if ((o->keep16 = (int)cli_int(optarg, "--depth", 8, 16)) != 8 && o->keep16 != 16)
				die_usage("--depth: must be 8 or 16");
			o->keep16 = o->keep16 == 16;
			break;
		case 'e': o->epochs = (int)cli_int(optarg, "--epochs", 1, 1000000); o->epochs_given = 1; break;
		case 'S': o->shuffle = 1; break;
		case 'r': o->seed = cli_u64(optarg, "--seed"); o->seed_given = 1; break;
		case 'C': o->classes = optarg; break;
		case 'm': o->cache_bytes = (size_t)cli_int(optarg, "--cache-mb", 0, 1 << 24) << 20; break;
		case 'b': o->skip_bad = 1; break;
		default: die_usage("unknown option");
		}
	}
	if (optind >= argc)
		die_usage("no input: give a folder, an image file or @LIST");
	if (o->shuffle && !o->seed_given) {
		o->seed = rng_os_seed();
		info("shuffle seed %llu", (unsigned long long)o->seed);
	}
}

/* Encodes one sample frame for item it into a new buffer (*outP, *lenP).
 * Returns 0, or -1 with the reason in err. */
static int
encode_sample(const struct options *o, const struct dataset *ds, const struct ds_item *it,
    char **outP, size_t *lenP, char *err, size_t errlen)
{
	uint8_t *file;
	size_t flen;
	struct tensor t, r;
	struct image_info ii;
	char hex[65];
	int gray_rgb = 0;

	if (file_read_all(it->path, &file, &flen) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (image_decode(file, flen, o->keep16, &t, &ii, err, errlen) < 0) {
		free(file);
		return -1;
	}
	sha256_hex(file, flen, hex);
	free(file);
	image_to_channels(&t, o->channels, &gray_rgb);
	if (o->h > 0) {
		resize_image(&t, o->h, o->w, o->interp, &r);
		tensor_free(&t);
		t = r;
	}
	*outP = sample_frame_encode(ds, it, &t, &ii, hex, gray_rgb, lenP);
	tensor_free(&t);
	return 0;
}

struct cache {
	char **frame;
	size_t *len;
	size_t used, limit;
};

/* Writes item i's frame, from the cache when it is there. */
static void
emit(const struct options *o, const struct dataset *ds, struct cache *c, size_t i,
    struct frame_writer *w)
{
	char err[256];
	char *buf;
	size_t len;

	if (c->frame[i]) {
		frame_write_bytes(w, c->frame[i], c->len[i]);
		return;
	}
	if (encode_sample(o, ds, &ds->items[i], &buf, &len, err, sizeof err) < 0) {
		if (!o->skip_bad)
			die("%s: %s", ds->items[i].path, err);
		warnx("%s: %s (skipped)", ds->items[i].path, err);
		return;
	}
	frame_write_bytes(w, buf, len);
	if (o->epochs > 1 && c->used + len <= c->limit) {
		c->frame[i] = buf;
		c->len[i] = len;
		c->used += len;
	} else {
		free(buf);
	}
}

static void
write_epoch(struct frame_writer *w, int index, int count)
{
	fw_map(w, 3);
	fw_kv_str(w, "kind", "epoch");
	fw_kv_int(w, "index", index);
	fw_kv_int(w, "count", count);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct dataset ds;
	struct cache c = { 0 };
	struct frame_writer *w;
	size_t *order;

	cli_begin(&argc, argv, usage);
	parse_command_line(argc, argv, &o);
	dataset_collect(&ds, argv + optind, argc - optind, o.classes);
	info("%zu images in %d classes", ds.n, ds.nclasses);
	w = frame_writer_fd(1, "stdout");
	order = XNEW(size_t, ds.n ? ds.n : 1);
	c.frame = xcalloc(ds.n ? ds.n : 1, sizeof *c.frame);
	c.len = xcalloc(ds.n ? ds.n : 1, sizeof *c.len);
	c.limit = o.cache_bytes;
	for (int e = 0; e < o.epochs; e++) {
		for (size_t i = 0; i < ds.n; i++)
			order[i] = i;
		if (o.shuffle)
			dataset_shuffle(order, ds.n, o.seed, (uint64_t)e);
		if (o.epochs_given)
			write_epoch(w, e, o.epochs);
		for (size_t i = 0; i < ds.n; i++)
			emit(&o, &ds, &c, order[i], w);
	}
	frame_writer_close(w);
	for (size_t i = 0; i < ds.n; i++)
		free(c.frame[i]);
	free(c.frame);
	free(c.len);
	free(order);
	dataset_free(&ds);
	return 0;
}
