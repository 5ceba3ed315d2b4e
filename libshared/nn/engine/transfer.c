/* transfer.c — a model's memory on its backend: moving parameters and
 * optimiser moments between the host copies and the backend, and
 * releasing the plan's allocations.  The bottom of the engine: it calls
 * no other engine file (graph.c, plan.c and exec.c call it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/engine/nn_impl.h"

int
nn_fail(struct nn_model *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof m->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* -1 (error set) when the backend recorded a failure (backend.h). */
static int
backend_ok(struct nn_model *m)
{
	const char *e = nn_backend_error(m->be);

	return e != NULL ? nn_fail(m, "%s", e) : 0;
}

void
nn_params_upload(struct nn_model *m)
{
	if (m->be)
		m->be->upload(m->be, m->p, m->host, m->arena * sizeof *m->host);
	m->fold_ok = 0;         /* forward.c folds the new values again */
}

int
nn_params_download(struct nn_model *m)
{
	/* an inference plan writes no parameter, and its BN-folded ones
	 * (forward.c) are not the model's: the host copy stays as it is */
	if (m->be == NULL || (m->flags & NN_PLAN_INFERENCE))
		return 0;
	if (m->p_host)          /* one copy (plan.c): wait for the ops only */
		m->be->sync(m->be);
	else
		m->be->download(m->be, m->host, m->p, m->arena * sizeof *m->host);
	return backend_ok(m);
}

float *
nn_moments_host(struct nn_model *m, int which)
{
	which = which != 0;
	if (m->mhost[which] == NULL || m->mcap < m->arena) {
		for (int k = 0; k < 2; k++) {
			float *h = xaligned(xmul(m->arena ? m->arena : 1, sizeof *h, "moments"));
			memset(h, 0, (m->arena ? m->arena : 1) * sizeof *h);
			if (m->mhost[k])
				memcpy(h, m->mhost[k], m->mcap * sizeof *h);
			free(m->mhost[k]);
			m->mhost[k] = h;
		}
		m->mcap = m->arena;
	}
	return m->mhost[which];
}

int
nn_moments_download(struct nn_model *m)
{
	if (m->be == NULL || m->m1 == NULL)
		return 0;
	nn_moments_host(m, 0);
	m->be->download(m->be, m->mhost[0], m->m1, m->arena * sizeof(float));
	m->be->download(m->be, m->mhost[1], m->m2, m->arena * sizeof(float));
	return backend_ok(m);
}

void
nn_moments_upload(struct nn_model *m)
{
	if (m->be == NULL || m->m1 == NULL)
		return;
	nn_moments_host(m, 0);
	m->be->upload(m->be, m->m1, m->mhost[0], m->arena * sizeof(float));
	m->be->upload(m->be, m->m2, m->mhost[1], m->arena * sizeof(float));
}

void
nn_plan_release(struct nn_model *m)
{
	struct nn_backend *be = m->be;
	float **bufs[] = { &m->p, &m->g, &m->m1, &m->m2, &m->acts, &m->grads, &m->aux, &m->sbdev };

	if (be == NULL)
		return;
	if (m->p_host)          /* the host copy: the model's, not the plan's */
		m->p = NULL;
	m->p_host = 0;
	for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) {
		be->free(be, *bufs[k]);
		*bufs[k] = NULL;
	}
	m->be = NULL;
	m->acts_size = m->grads_size = m->aux_size = 0;
	m->sbdev_n = 0;
	m->fold_size = 0;
	m->fold_ok = 0;
}
