/* cam.c — Grad-CAM's engine part: which layer, and the activation A of
 * that layer with the gradient dS/dA of a class score S, for a batch, in
 * inference semantics (BN with moving statistics, no dropout).
 *
 * The plan (nn_model_plan_cam, plan.c) keeps the activations from the
 * CAM layer up and gives gradient memory only to those layers; backward
 * (nn_backward_to, exec.c) starts from dS/dlogits written into the
 * output layer's gradient instead of a loss and stops at the CAM layer.
 * The map itself (weights, ReLU, upsampling) is libshared/cam.c.  Sits
 * at the top of the engine beside step.c: calls exec.c, forward.c,
 * plan.c, graph.c.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/engine/nn_impl.h"

int
nn_cam_default_layer(struct nn_model *m)
{
	for (int i = 1; i < m->nlay; i++)
		if (m->lay[i].pub.type == NN_GAP)
			return m->lay[i].pub.in[0];
	return nn_fail(m, "Grad-CAM: %s has no global average pooling, so no "
	               "default layer; name one", m->name);
}

int
nn_cam_layer(struct nn_model *m, const char *name)
{
	int i = name ? nn_layer_find(m, name) : nn_cam_default_layer(m);

	if (name && i < 0)
		return nn_fail(m, "Grad-CAM: no layer called '%s'", name);
	if (i < 0 || nn_cam_check(m, i) < 0)
		return -1;
	return i;
}

/* dS/dlogits for n images into the output layer's gradient: sigmoid: +1
 * (cls 1 or -1) or -1 (cls 0); softmax: one-hot at cls, or at each
 * image's most probable class when cls is -1 (needs the probabilities). */
static int
seed(struct nn_model *m, int n, int cls)
{
	struct nn_lay *out = &m->lay[m->nlay - 1];
	int k = out->pub.c, soft = nn_output_act(m) == NN_ACT_SOFTMAX;
	float *s, *p = NULL;

	if (soft ? cls < -1 || cls >= k : cls < -1 || cls > 1)
		return nn_fail(m, "Grad-CAM: class %d out of range (%s output, %d "
		               "unit%s)", cls, soft ? "softmax" : "sigmoid", k, k > 1 ? "s" : "");
	s = XNEW(float, (size_t)n * k);
	memset(s, 0, (size_t)n * k * sizeof *s);
	if (soft && cls < 0) {
		p = XNEW(float, (size_t)n * k);
		nn_read_results(m, NULL, p);
	}
	for (int i = 0; i < n; i++) {
		int c = cls;
		if (!soft) {
			s[i] = cls == 0 ? -1.0f : 1.0f;
			continue;
		}
		if (p) {
			c = 0;
			for (int j = 1; j < k; j++)
				if (p[(size_t)i * k + j] > p[(size_t)i * k + c])
					c = j;
		}
		s[(size_t)i * k + c] = 1.0f;
	}
	m->be->upload(m->be, out->dy, s, (size_t)n * k * sizeof *s);
	free(s);
	free(p);
	return 0;
}

/* Copies layer l's gradient (n*h*w*c, pixel stride dy_ld) to out. */
static void
read_grad(struct nn_model *m, const struct nn_lay *l, float *out)
{
	size_t px = (size_t)m->n * l->pub.h * l->pub.w, c = l->pub.c, ld = l->dy_ld;
	float *tmp;

	if (ld == c) {
		m->be->download(m->be, out, l->dy, px * c * sizeof *out);
		return;
	}
	tmp = XNEW(float, (px - 1) * ld + c);
	m->be->download(m->be, tmp, l->dy, ((px - 1) * ld + c) * sizeof *tmp);
	for (size_t i = 0; i < px; i++)
		memcpy(out + i * c, tmp + i * ld, c * sizeof *out);
	free(tmp);
}

int
nn_cam_grad(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n,
            int cls, float *act, float *grad, float *probs)
{
	int L = m->cam;

	if (m->be == NULL || !(m->flags & NN_PLAN_CAM))
		return nn_fail(m, "Grad-CAM: the model is not planned for Grad-CAM "
		               "(nn_model_plan_cam)");
	if (nn_forward(m, dt, x, n, 0) < 0 || nn_predict_ops(m) < 0)
		return -1;
	if (seed(m, n, cls) < 0 || nn_backward_to(m, L) < 0)
		return -1;
	if (act && nn_layer_output(m, L, act) < 0)
		return -1;
	if (grad)
		read_grad(m, &m->lay[L], grad);
	if (probs)
		nn_read_results(m, NULL, probs);
	return 0;
}
