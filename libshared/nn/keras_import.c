/* keras_import.c — Keras HDF5 weights into a radpipe model, by name. */
#include "nn/keras_import.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN 6                 /* names listed per category in a message */

struct names {
	int n;
	char text[1024];
};

static void
note(struct names *l, const char *fmt, ...)
{
	size_t len = strlen(l->text);
	va_list ap;

	if (l->n++ >= SHOWN || len + 2 >= sizeof l->text)
		return;
	if (len)
		len += (size_t)snprintf(l->text + len, sizeof l->text - len, ", ");
	va_start(ap, fmt);
	vsnprintf(l->text + len, sizeof l->text - len, fmt, ap);
	va_end(ap);
}

static int
same_shape(const struct nn_param *p, const struct h5k_weight *w)
{
	if (p->rank != w->rank)
		return 0;
	for (int k = 0; k < p->rank; k++)
		if (p->shape[k] != w->shape[k])
			return 0;
	return 1;
}

/* Index of the first head layer (global average pooling), or the count. */
static int
head_start(const struct nn_model *m)
{
	for (int i = 0; i < nn_layer_count(m); i++)
		if (nn_layer_at(m, i)->type == NN_GAP)
			return i;
	return nn_layer_count(m);
}

int
h5k_import(struct h5k_file *f, struct nn_model *m, char *err, size_t errlen)
{
	struct names extra = { 0 }, missing = { 0 }, shape = { 0 };
	unsigned char *seen = xcalloc((size_t)nn_param_count(m) + 1, 1);
	int placed = 0, head = head_start(m);
	char a[96];

	for (int i = 0; i < f->nlayers; i++)
		for (int j = 0; j < f->layers[i].nweights; j++) {
			const struct h5k_weight *w = &f->layers[i].w[j];
			int pi = nn_param_find(m, w->name);
			if (pi < 0) {
				note(&extra, "%s", w->name);
				continue;
			}
			seen[pi] = 1;
			if (!same_shape(nn_param_at(m, pi), w)) {
				note(&shape, "%s%s", w->name, h5k_shape_str(w, a, sizeof a));
				continue;
			}
			if (h5k_read(f, &f->layers[i], w, nn_params_host(m) + nn_param_at(m, pi)->offset,
			    err, errlen) < 0) {
				free(seen);
				return -1;
			}
			placed++;
		}
	for (int i = 0; i < nn_param_count(m); i++)
		if (!seen[i] && nn_param_at(m, i)->layer < head)
			note(&missing, "%s", nn_param_at(m, i)->name);
	free(seen);
	if (extra.n + missing.n + shape.n == 0)
		return placed;
	snprintf(err, errlen, "%s does not fit the model: missing %d%s%s%s; extra %d%s%s%s; "
	    "wrong shape %d%s%s%s", f->path,
	    missing.n, missing.n ? " (" : "", missing.text, missing.n ? (missing.n > SHOWN ? ", ...)" : ")") : "",
	    extra.n, extra.n ? " (" : "", extra.text, extra.n ? (extra.n > SHOWN ? ", ...)" : ")") : "",
	    shape.n, shape.n ? " (" : "", shape.text, shape.n ? (shape.n > SHOWN ? ", ...)" : ")") : "");
	return -1;
}

int
h5k_import_model(const char *path, struct nn_model *m, char *err, size_t errlen)
{
	struct h5k_file *f = h5k_open(path, err, errlen);
	int n;

	if (f == NULL)
		return -1;
	n = h5k_import(f, m, err, errlen);
	if (n >= 0)
		info("%s: placed %d weights (%zu parameters)", path, n, f->nparams);
	h5k_close(f);
	return n < 0 ? -1 : 0;
}
