/* parity.h — what the two Keras parity tests (test_inception_parity.c,
 * test_models_parity.c) share beyond testutil.h: the check of one Adam
 * step.  Header-only (static), as it needs the engine that testutil.c,
 * linked into every unit test, must not. */
#ifndef RADPIPE_TEST_PARITY_H
#define RADPIPE_TEST_PARITY_H

#include <string.h>
#include "err.h"
#include "nn/nn.h"
#include "testutil.h"

/* Sets m's parameters to p1 (n floats; h is m's host copy), takes one Adam
 * step (Keras' defaults, lr 1e-4, eps 1e-8) from zero moments, and
 * compares the change of every parameter the fixture holds
 * ("train/param/<name>", moving statistics left out) with Keras'
 * (tu_compare_step; the gradient under grad_prefix). */
static void
parity_adam_step(struct tu_tally *t, struct nn_model *m, const char *be, float *h, const float *p1,
    size_t n, const struct tu_ref *refs, int nrefs, const char *grad_prefix, double min_g, double tol)
{
	const struct nn_optim adam = { .type = NN_ADAM, .lr = 1e-4f, .beta1 = 0.9f,
	                               .beta2 = 0.999f, .eps = 1e-8f };

	memcpy(h, p1, n * sizeof *h);
	nn_params_upload(m);
	memset(nn_moments_host(m, 0), 0, n * sizeof(float));
	memset(nn_moments_host(m, 1), 0, n * sizeof(float));
	nn_moments_upload(m);
	nn_set_step_count(m, 0);
	if (nn_step(m, &adam) < 0)
		die("adam: %s", nn_error(m));
	nn_params_download(m);
	for (int k = 0; k < nrefs; k++) {
		const char *pn = refs[k].name + 12;
		const struct nn_param *p;

		if (strncmp(refs[k].name, "train/param/", 12) != 0 || strstr(pn, "/moving_"))
			continue;
		p = nn_param_at(m, nn_param_find(m, pn));
		tu_compare_step(t, be, pn, h, p1, p->offset, p->size, refs, nrefs, grad_prefix, min_g, tol);
	}
}

#endif
