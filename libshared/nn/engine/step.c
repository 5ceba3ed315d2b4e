/* step.c — whole steps: nn_train_step (forward, loss, backward, optimiser)
 * and nn_infer (forward, probabilities) issue their ops between the
 * backend's step hooks (struct nn_backend step_begin/step_end), under a
 * key that names the op sequence, and read results back only after the
 * last op.  A backend may then record the step once and replay it (CUDA
 * graphs); one without hooks (ref, cpu) runs the same ops as the separate
 * calls, with the same results.  Calls only down: exec.c, forward.c, graph.c.
 */
#include <stdio.h>
#include <string.h>

#include "nn/engine/nn_impl.h"

static uint64_t
mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ull;        /* FNV-1a */
	return h;
}

/* What decides the op sequence of a step, and the memory it touches:
 * the model and its plan, the batch, the mode, which layers train, the
 * loss and optimiser variants.  Per-step values (learning rate, step
 * counter, input scaling, the bytes of x, y and w) are not in it. */
static uint64_t
step_key(const struct nn_model *m, enum nn_dtype_in dt, int n, int training,
         int weighted, const struct nn_optim *o)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t clip;

	memcpy(&clip, &m->clip, sizeof clip);
	h = mix(h, (uint64_t)(uintptr_t)m->acts);
	h = mix(h, (uint64_t)n << 32 | (uint64_t)training << 8 | (uint64_t)dt << 1 | (weighted != 0));
	h = mix(h, (uint64_t)m->flags << 32 | clip);
	h = mix(h, (uint64_t)m->pre_ch);        /* input or input_ch */
	h = mix(h, (uint64_t)m->unbiased << 8 | (o ? (uint64_t)o->type << 1 | (o->nesterov != 0) : 0xff));
	for (int i = 0; i < m->nlay; i++)
		h = mix(h, (uint64_t)(m->lay[i].pub.trainable != 0) << 1 | (m->lay[i].pub.frozen_bn != 0));
	return h;
}

static int
hooked(const struct nn_model *m)
{
	return m->be->step_begin && m->be->step_end && !m->prof;
}

/* The checks of the separate calls, made before the first op. */
static int
step_check(struct nn_model *m, int n, int training, const float *y)
{
	const char *why = NULL;

	if (m->be == NULL)
		why = "model not planned";
	else if (n <= 0 || n > m->max_batch)
		why = "batch size outside the plan";
	else if (training && m->g == NULL)
		why = "the model is planned for inference only";
	else if (training && y == NULL)
		why = "no labels";
	if (why)
		return nn_fail(m, "%s: %s (batch %d, planned for %d)",
		               training ? "nn_train_step" : "nn_infer", why, n, m->max_batch);
	return nn_output_check(m);
}

/* The gradient hook's done (data parallelism), before the optimiser. */
static int
grads_done(struct nn_model *m)
{
	if (m->ghook.done)
		m->ghook.done(m->ghook.ctx, m->g, m->arena);
	return 0;
}

void
nn_set_grad_hook(struct nn_model *m, const struct nn_grad_hook *h)
{
	m->ghook = h ? *h : (struct nn_grad_hook){ 0 };
}

float *
nn_backend_arena(struct nn_model *m, int which)
{
	return which == 0 ? m->p : m->g;
}

int
nn_idle_step(struct nn_model *m, const struct nn_optim *o)
{
	if (m->be == NULL || m->g == NULL || (m->flags & NN_PLAN_CAM))
		return nn_fail(m, "nn_idle_step: the model is not planned for training");
	m->be->zero(m->be, m->g, m->arena * sizeof *m->g);
	m->training = 1;        /* BN gamma/beta update as on the busy ranks */
	if (grads_done(m) < 0 || nn_step(m, o) < 0)
		return -1;
	if (nn_backend_error(m->be))
		return nn_fail(m, "%s", nn_backend_error(m->be));
	return 0;
}

int
nn_train_step(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n,
              const float *y, const float *w, const struct nn_optim *o,
              float *loss, float *probs)
{
	int64_t t = m->t;
	int hooks, rc;

	if (step_check(m, n, 1, y) < 0)
		return -1;
	for (hooks = hooked(m);; hooks = 0) {
		if (hooks)
			m->be->step_begin(m->be, step_key(m, dt, n, 1, w != NULL, o));
		rc = nn_forward(m, dt, x, n, 1) < 0 || nn_backward_ops(m, y, w) < 0 ||
		     grads_done(m) < 0 || nn_step(m, o) < 0 ? -1 : 0;
		if (!hooks || m->be->step_end(m->be, rc < 0) == 0)
			break;
		m->t = t;       /* recorded but not run: once more, eagerly */
	}
	if (rc < 0 || m->bnfail)
		return -1;
	nn_read_results(m, loss, probs);
	if (nn_backend_error(m->be))      /* an op failed (backend.h) */
		return nn_fail(m, "%s", nn_backend_error(m->be));
	return 0;
}

int
nn_infer(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n, float *probs)
{
	int hooks, rc;

	if (step_check(m, n, 0, NULL) < 0)
		return -1;
	for (hooks = hooked(m);; hooks = 0) {
		if (hooks)
			m->be->step_begin(m->be, step_key(m, dt, n, 0, 0, NULL));
		rc = nn_forward(m, dt, x, n, 0) < 0 || nn_predict_ops(m) < 0 ? -1 : 0;
		if (!hooks || m->be->step_end(m->be, rc < 0) == 0)
			break;
	}
	if (rc < 0)
		return -1;
	nn_read_results(m, NULL, probs);
	if (nn_backend_error(m->be))      /* an op failed (backend.h) */
		return nn_fail(m, "%s", nn_backend_error(m->be));
	return 0;
}

int
nn_params_nonfinite(struct nn_model *m)
{
	if (m->be == NULL || m->be->nonfinite == NULL || m->p == NULL)
		return 0;
	return m->be->nonfinite(m->be, m->p, m->arena);
}

void
nn_amp_stats(const struct nn_model *m, long long *skippedP, float *scaleP)
{
	*skippedP = 0;
	*scaleP = 1;
	if (m->be && m->be->amp_stats)
		m->be->amp_stats(m->be, skippedP, scaleP);
}
