/* nnimport — Keras HDF5 weights -> radpipe model stream.
 *
 * Builds the architecture, places every weight of the file on the layer of
 * the same name (checking every shape), initialises the layers the file
 * does not have (the head) from --seed, and writes the model stream.
 * Anything that does not match is named and nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "nn/modelfile/h5keras.h"
#include "nn/modelfile/modelio.h"
#include "nn/nn.h"

static const char synopsis[] =
"usage: nnimport [options] -o MODEL WEIGHTS.h5\n"
"       nnimport --list WEIGHTS.h5\n";

struct options {
	const char *arch;
	int size;
	struct nn_head head;
	const char *preprocess;
	const char *classes;    /* --classes as given, or NULL */
	uint64_t seed;
	const char *out;
	int list;
	const char *weights;
};

static void
parse_head(void *p, const char *s)
{
	struct nn_head *h = p;
	char buf[128], *d, *c;

	if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf ||
	    (d = strchr(buf, ',')) == NULL || (c = strchr(d + 1, ',')) == NULL)
		die_usage("--head: '%s' is not UNITS,DROPOUT,CLASSES", s);
	*d++ = '\0';
	*c++ = '\0';
	h->dense_units = (int)cli_int(buf, "--head units", 0, 1 << 16);
	h->dropout = (float)cli_double(d, "--head dropout", 0, 0.99);
	h->classes = (int)cli_int(c, "--head classes", 1, 100000);
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const char *const archs[] = { "inception_v3", "resnet50", "densenet121", "mobilenet_v2", NULL };
	static const char *const pres[] = { "rescale", "inception", "tf", "caffe", "torch", NULL };
	int arch = 0, pre = -1, i;
	const struct cli_opt opts[] = {
		CLI_CHOICE("arch", 0, "NAME", "architecture: inception_v3 (default), resnet50,\n"
		    "densenet121 or mobilenet_v2", &arch, archs),
		CLI_INT("size", 0, "N", "input height and width (default 299; at least 75 for\n"
		    "inception_v3, 32 for the others)", &o->size, 32, 4096),
		CLI_CALL("head", 0, "U,D,C", "head: U hidden units (0: none), dropout D,\nC outputs (1: sigmoid) "
		    "(default 256,0.5,1)", parse_head, &o->head),
		CLI_CHOICE("preprocess", 0, "P", "rescale (x/255, the paper), inception or tf\n"
		    "(x/127.5-1), caffe or torch (see nntrain(1)); default:\n"
		    "rescale for inception_v3, the arch's own for the others", &pre, pres),
		CLI_OPT_CLASSES("0,1,...", &o->classes),
		CLI_OPT_SEED("seed of the head's initial weights (default 1)", &o->seed),
		CLI_OPT_OUTPUT("the model file, written atomically (- is stdout)", &o->out),
		CLI_FLAG("list", 0, "print the file's layers and weights, convert nothing", &o->list),
		CLI_END
	};

	*o = (struct options){ .arch = "inception_v3", .size = 299,
	                       .head = { 256, 0.5f, 1 }, .preprocess = "rescale", .seed = 1 };
	i = cli_parse(argc, argv, synopsis, opts);
	o->arch = archs[arch];
	o->preprocess = pre >= 0 ? pres[pre] : arch == 0 ? "rescale" : nn_arch_preprocess(o->arch);
	if (o->size < (arch == 0 ? 75 : 32))
		die_usage("--size: %s needs at least %d", o->arch, arch == 0 ? 75 : 32);
	if (i != argc - 1)
		die_usage(i >= argc ? "no weights file given" : "one weights file only");
	o->weights = argv[i];
	if (!o->list && o->out == NULL)
		die_usage("no output: give -o FILE (- for stdout)");
	if (!o->list && strcmp(o->out, "-") == 0 && isatty(STDOUT_FILENO))
		die_usage("will not write a binary model to a terminal: redirect or use -o FILE");
}

/* Class names from --classes, or "0".."k-1"; k = 2 for a sigmoid head. */
static void
set_classes(struct nn_model_info *info, const struct options *o)
{
	int k = o->head.classes == 1 ? 2 : o->head.classes, n = 0, i;
	char **names = XNEW(char *, (size_t)k + 1);
	char *s, *tok, *save = NULL, num[16];

	if (o->classes != NULL) {
		s = xstrdup(o->classes);
		for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
			if (n == k)
				die_usage("--classes: more than the %d classes of the head", k);
			names[n++] = xstrdup(tok);
		}
		free(s);
		if (n != k)
			die_usage("--classes: %d names for a head of %d classes", n, k);
	} else {
		for (n = 0; n < k; n++) {
			snprintf(num, sizeof num, "%d", n);
			names[n] = xstrdup(num);
		}
	}
	nn_model_info_set_classes(info, names, n);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
list_weights(const struct h5k_file *f)
{
	const struct h5k_layer *l;
	char shp[128];
	int i, j, nw = 0;

	for (i = 0; i < f->nlayers; i++)
		nw += f->layers[i].nweights;
	printf("# %s: keras_version %s, backend %s, %d layers, %d weights, %zu parameters\n",
	       f->path, f->keras_version[0] ? f->keras_version : "?",
	       f->backend[0] ? f->backend : "?", f->nlayers, nw, f->nparams);
	for (i = 0; i < f->nlayers; i++) {
		l = &f->layers[i];
		printf("%s\n", l->name);
		for (j = 0; j < l->nweights; j++)
			printf("\t%s\t%s\n", l->w[j].name, h5k_shape_str(&l->w[j], shp, sizeof shp));
	}
}

/* Names the layers of m that have parameters but are not in f: the ones
 * left with their --seed initialisation. */
static void
report(const struct h5k_file *f, const struct nn_model *m, int placed, const struct options *o)
{
	char list[512] = "";
	size_t n = 0;
	int i, last = -1;

	for (i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		const char *ln = nn_layer_at(m, p->layer)->name;

		if (p->layer == last || h5k_layer_find(f, ln) >= 0 || n >= sizeof list)
			continue;
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", ln);
		last = p->layer;
	}
	info("placed %d weights (%zu parameters) from %s; initialised from seed %llu: %s",
	     placed, f->nparams, f->path, (unsigned long long)o->seed, n ? list : "nothing");
}

int
main(int argc, char **argv)
{
	struct options o;
	struct nn_model_info info;
	struct h5k_file *f;
	struct nn_model *m;
	char err[2048];
	int placed;

	parse_command_line(argc, argv, &o);
	memset(&info, 0, sizeof info);
	set_classes(&info, &o);
	if ((f = h5k_open(o.weights, err, sizeof err)) == NULL)
		die("%s", err);
	if (o.list) {
		list_weights(f);
		h5k_close(f);
		nn_model_info_free(&info);
		stdout_finish();
		return 0;
	}
	if ((m = nn_arch_build(o.arch, o.size, o.size, 3, &o.head)) == NULL)
		die("cannot build %s for %dx%d input", o.arch, o.size, o.size);
	nn_model_init_params(m, o.seed);
	if ((placed = h5k_place(f, m, err, sizeof err)) < 0)
		die("%s", err);
	report(f, m, placed, &o);
	h5k_close(f);
	snprintf(info.arch, sizeof info.arch, "%s", o.arch);
	info.input[0] = info.input[1] = o.size;
	info.input[2] = 3;
	info.head = o.head;
	snprintf(info.preprocess, sizeof info.preprocess, "%s", o.preprocess);
	if (nn_model_save(o.out, m, &info, 0, NULL, err, sizeof err) < 0)
		die("%s", err);
	nn_model_info_free(&info);
	nn_model_free(m);
	stdout_finish();
	return 0;
}
