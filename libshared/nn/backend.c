/* backend.c — choosing a backend by name, its error, precision names, and
 * TF padding geometry. */
#include <stdio.h>
#include <string.h>

#include "nn/backend.h"

struct nn_backend *
nn_backend_open(const char *name, const struct nn_backend_opts *o, char *err,
                size_t errlen)
{
	struct nn_backend_opts def = { 0 };
	struct nn_backend *be;
	char why[256];

	if (o == NULL)
		o = &def;
	if (err && errlen)
		err[0] = '\0';
	if (o->precision != NN_PREC_FP32 && (strcmp(name, "ref") == 0 ||
	    (strcmp(name, "cpu") == 0 && o->precision != NN_PREC_BF16))) {
		if (err && errlen)
			snprintf(err, errlen, "backend %s computes in fp32%s only (precision %s needs cuda)",
			         name, strcmp(name, "cpu") == 0 ? " and bf16" : "",
			         nn_precision_name(o->precision));
		return NULL;
	}
	if (strcmp(name, "ref") == 0)
		return nn_ref_open(o, err, errlen);
	if (strcmp(name, "cpu") == 0)
		return nn_cpu_open(o, err, errlen);
	if (strcmp(name, "cuda") == 0)
		return nn_cuda_open(o, err, errlen);
	if (strcmp(name, "auto") == 0) {
		why[0] = '\0';
		if ((be = nn_cuda_open(o, why, sizeof why)) != NULL)
			return be;
		if (o->precision != NN_PREC_FP32 && o->precision != NN_PREC_BF16) {
			if (err && errlen)
				snprintf(err, errlen, "precision %s needs cuda: %s",
				         nn_precision_name(o->precision), why);
			return NULL;
		}
		if ((be = nn_cpu_open(o, err, errlen)) != NULL)
			return be;
		if (err && errlen) {
			char cpu[256];
			snprintf(cpu, sizeof cpu, "%s", err);
			snprintf(err, errlen, "no backend: cuda: %s; cpu: %s", why, cpu);
		}
		return NULL;
	}
	if (err && errlen)
		snprintf(err, errlen, "unknown backend '%s' (ref, cpu, cuda, auto)", name);
	return NULL;
}

const char *
nn_backend_error(struct nn_backend *be)
{
	return be != NULL && be->error != NULL ? be->error(be) : NULL;
}

static const char *prec_names[] = { "fp32", "tf32", "bf16", "fp16" };

int
nn_precision_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, prec_names[i]) == 0)
			return i;
	return -1;
}

const char *
nn_precision_name(int p)
{
	return p >= 0 && p < 4 ? prec_names[p] : "?";
}

int
nn_precision_check(const char *device, int p, char *err, size_t errlen)
{
	if (p != NN_PREC_FP32 && strcmp(device, "ref") == 0) {
		snprintf(err, errlen, "--precision %s: the ref backend computes in fp32 only "
		    "(use --device cuda)", nn_precision_name(p));
		return -1;
	}
	if (p != NN_PREC_FP32 && p != NN_PREC_BF16 && strcmp(device, "cpu") == 0) {
		snprintf(err, errlen, "--precision %s: the cpu backend computes in fp32 or bf16 only "
		    "(use --device cuda)", nn_precision_name(p));
		return -1;
	}
	return 0;
}

void
nn_pad_same(int in, int k, int s, int *out, int *pad_before)
{
	int o = (in + s - 1) / s;
	int total = (o - 1) * s + k - in;

	*out = o;
	*pad_before = total > 0 ? total / 2 : 0;
}

void
nn_pad_valid(int in, int k, int s, int *out, int *pad_before)
{
	*out = in >= k ? (in - k) / s + 1 : 0;
	*pad_before = 0;
}
