/* gradcam_weights.h — the Grad-CAM fixture's weights (tests/ref/
 * make_gradcam_fixture.py states the formula), for the tests that build
 * its small CNN: test_cam (the engine) and gradcam_model (a model file for
 * nninfer --cam).  Include after nn/nn.h and gradcam_fixture.h. */
#ifndef RADPIPE_GRADCAM_WEIGHTS_H
#define RADPIPE_GRADCAM_WEIGHTS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Fills m's host parameters with the fixture's weights: 0, or -1 if m's
 * parameters are not the fixture's (count or names). */
static int
gcfx_set_weights(struct nn_model *m)
{
	float *h = nn_params_host(m);

	if (nn_param_count(m) != GCFX_NPARAM)
		return -1;
	for (int q = 0; q < GCFX_NPARAM; q++) {
		const struct nn_param *p = nn_param_at(m, q);
		const char *s = strchr(p->name, '/');
		size_t fan = 1;
		if (s == NULL || strcmp(p->name, gcfx_param[q]) != 0)
			return -1;
		s++;
		for (int k = 0; k + 1 < p->rank; k++)
			fan *= (size_t)p->shape[k];
		for (size_t i = 0; i < p->size; i++) {
			double u = (double)(((uint64_t)i * 2654435761u + (uint64_t)q + 1) &
			                    0xffffffffu) / 4294967296.0, v;
			if (strcmp(s, "kernel:0") == 0)
				v = (2 * u - 1) * sqrt(3.0 / (double)fan);
			else if (strcmp(s, "gamma:0") == 0 || strcmp(s, "moving_variance:0") == 0)
				v = 0.5 + u;
			else if (strcmp(s, "bias:0") == 0)
				v = 0.1 * (2 * u - 1);
			else
				v = 0.2 * (2 * u - 1);      /* beta, moving_mean */
			h[p->offset + i] = (float)v;
		}
	}
	return 0;
}

#endif
