/* exec.c — running a planned model after its forward pass: the loss,
 * backward, nn_predict, the optimiser step, and reading a layer's output.
 *
 * Layers run in creation order (topological).  Backward walks them in
 * reverse; a layer's output gradient dy is complete once every consumer
 * has run, each adding its share through the ops' beta argument (gset
 * says whether the first share has been written).  A batch-mode BN with a
 * ReLU in place on it runs its backward at the ReLU's step, the ReLU's
 * folded in, when the backend offers bn_relu_bwd (bwd_bn_fused).  Calls
 * only down: recompute.c, plan.c, graph.c, prof.c (and layer.h's inline
 * helpers).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/engine/layer.h"

/* k-th parameter of layer l in the gradient arena. */
static float *
G(struct nn_model *m, const struct nn_lay *l, int k)
{
	return m->g + m->par[l->p0 + k].offset;
}

/* Has layer l weights that nn_step updates (given the last forward)? */
static int
updates_weights(const struct nn_model *m, const struct nn_lay *l)
{
	if (l->np == 0 || !l->pub.trainable || (m->flags & NN_PLAN_CAM))
		return 0;
	return l->pub.type != NN_BATCHNORM ||
	       ((l->scale || l->center) && bn_batch_mode(m, l));
}

/* ---- loss and backward ---- */

int
nn_output_check(struct nn_model *m)
{
	enum nn_act act = nn_output_act(m);
	int k = nn_output_size(m);

	if (!(act == NN_ACT_SIGMOID && k >= 1) && !(act == NN_ACT_SOFTMAX && k >= 2))
		return nn_fail(m, "%s: the output must be a Dense with sigmoid "
		            "or softmax", m->lay[m->nlay - 1].pub.name);
	return 0;
}

/* Runs the output loss: labels y (and weights w) to the backend; writes
 * loss, prob and the last layer's dy.  Sigmoid outputs of k units (binary
 * k = 1, multi-label k > 1) take n*k targets and weights: bce_logits runs
 * over the n*k elements (a weight 0 masks an unknown target out). */
static int
run_loss(struct nn_model *m, const float *y, const float *w)
{
	struct nn_backend *be = m->be;
	struct nn_lay *out = &m->lay[m->nlay - 1];
	enum nn_act act = nn_output_act(m);
	int k = nn_output_size(m);
	size_t ny;

	if (m->n == 0)
		return nn_fail(m, "no forward pass to take the loss of");
	if (nn_output_check(m) < 0)
		return -1;
	ny = (size_t)m->n * (act == NN_ACT_SIGMOID ? (size_t)k : 1);
	if (y)
		be->upload(be, m->labels, y, ny * sizeof *y);
	else
		be->zero(be, m->labels, ny * sizeof *y);
	if (w)
		be->upload(be, m->weights, w, ny * sizeof *w);
	if (act == NN_ACT_SIGMOID)
		be->bce_logits(be, (int)ny, out->y, m->labels, w ? m->weights : NULL,
		               m->clip, m->loss, out->dy, m->prob);
	else
		be->softmax_ce(be, m->n, k, out->y, m->labels, w ? m->weights : NULL,
		               m->loss, out->dy, m->prob);
	return 0;
}

/* BN l's gamma and beta gradients (NULL: not trained, or no such
 * parameter). */
static void
bn_grads(struct nn_model *m, const struct nn_lay *l, float **dg, float **db)
{
	int k = 0;

	*dg = *db = NULL;
	if (!updates_weights(m, l))
		return;
	*dg = l->scale ? G(m, l, k++) : NULL;
	*db = l->center ? G(m, l, k) : NULL;
}

/* The ReLU whose backward BN layer l's takes over (bn_relu_bwd with the
 * ReLU's gradient; the ReLU's relu_bwd is skipped), or NULL: a batch-mode
 * BN, not synchronised over ranks, whose one reader is a ReLU (ReLU6
 * too) in place on it, as recomputation fuses them in forward. */
static struct nn_lay *
fused_relu(struct nn_model *m, const struct nn_lay *l)
{
	int r;

	if (!m->bnrelu || m->bnsum || !bn_batch_mode(m, l))
		return NULL;
	r = nn_bn_relu_reader(m, (int)(l - m->lay));
	return r >= 0 ? &m->lay[r] : NULL;
}

/* Batch-mode BN l's backward through bn_relu_bwd (x: its input; r: the
 * fused ReLU or NULL): the ReLU's mask folded in, dx only when x needs
 * one.  With a ReLU it runs at the ReLU's step, reading the ReLU's
 * gradient where relu_bwd would (plan.c keeps x's gradient alive from
 * there), and the BN's own step does nothing. */
static void
bwd_bn_fused(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, const struct nn_lay *r)
{
	struct nn_backend *be = m->be;
	const struct nn_lay *d = r != NULL ? r : l;
	struct nn_bn p = bn_geom(m, l, x->dy_ld, d->dy_ld);
	float *gamma, *b, *rmean, *rvar, *dg, *db;

	bn_params(m, l, &gamma, &b, &rmean, &rvar);
	bn_grads(m, l, &dg, &db);
	be->bn_relu_bwd(be, &p, x->y, d->dy, gamma, b, l->mean, l->invstd,
	                x->up ? x->dy : NULL, dg, db, x->gset ? 1 : 0, r != NULL,
	                r != NULL ? r->cap : 0);
	x->gset |= x->up;
}

static void
bwd_bn(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, int dx, float beta)
{
	struct nn_backend *be = m->be;
	struct nn_bn p = bn_geom(m, l, x->dy_ld, l->dy_ld);
	float *gamma, *b, *rmean, *rvar, *dg, *db;

	bn_params(m, l, &gamma, &b, &rmean, &rvar);
	if (!bn_batch_mode(m, l)) {
		if (dx)
			be->bn_bwd_infer(be, &p, l->dy, gamma, rvar, x->dy, beta);
		return;
	}
	bn_grads(m, l, &dg, &db);
	/* bn_bwd always writes dx; without a reader, x's own gradient region
	 * (alive at this step, unused) takes it. */
	if (m->bnsum && x->dy == l->dy) {       /* plan.c mark_bn_dx_views */
		m->bnfail |= nn_fail(m, "%s: --sync-bn was set after the model was planned",
		                     l->pub.name) < 0;
		return;
	}
	if (m->bnsum) {
		m->bnfail |= nn_syncbn_bwd(m, l, x, dg, db, dx, beta) < 0;
		return;
	}
	if (m->bnrelu) {
		if (fused_relu(m, l) == NULL)   /* else done at the ReLU's step */
			bwd_bn_fused(m, l, x, NULL);
		return;
	}
	be->bn_bwd(be, &p, x->y, l->dy, gamma, l->mean, l->invstd, x->dy, dg, db,
	           dx ? beta : 0);
}

static void
bwd_concat(struct nn_model *m, struct nn_lay *l)
{
	int off = 0;

	for (int j = 0; j < l->pub.nin; j++) {
		struct nn_lay *x = input_of(m, l, j);
		if ((l->copy_in & 1u << j) && x->up) {
			struct nn_ew p = { pixels(m, l), x->pub.c, l->dy_ld, x->dy_ld, 0 };
			m->be->add(m->be, &p, l->dy + off, x->dy, x->gset);
		}
		x->gset |= x->up;
		off += x->pub.c;
	}
}

/* Convolution (or depthwise) backward: weight gradients when wt, the
 * input's gradient when dx (conv charges its two parts to the profile). */
static void
bwd_conv(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, int dx, int wt, float beta)
{
	struct nn_backend *be = m->be;
	struct nn_conv cp = conv_geom(m, l, x, x->y_ld, l->dy_ld);
	float *db = l->bias ? G(m, l, 1) : NULL;

	if (l->pub.type == NN_DWCONV) {
		if (wt)
			be->dwconv_bwd_weights(be, &cp, x->y, l->dy, G(m, l, 0), db);
		cp.x_ld = x->dy_ld;
		if (dx)
			be->dwconv_bwd_data(be, &cp, l->dy, W(m, l, 0), x->dy, beta);
		return;
	}
	if (wt && dx && be->conv_bwd != NULL && !m->prof) {
		/* one op for both (the profile times them apart) */
		be->conv_bwd(be, &cp, x->y, l->dy, W(m, l, 0), G(m, l, 0), db, x->dy,
		             x->dy_ld, beta);
		return;
	}
	if (wt)
		be->conv_bwd_weights(be, &cp, x->y, l->dy, G(m, l, 0), db);
	nn_prof_add(m, NN_PROF_CONV_BWD_W);
	cp.x_ld = x->dy_ld;
	if (dx)
		be->conv_bwd_data(be, &cp, l->dy, W(m, l, 0), x->dy, beta);
}

/* Each input's gradient gets dy (summed with its other readers'). */
static void
bwd_add(struct nn_model *m, struct nn_lay *l)
{
	for (int j = 0; j < l->pub.nin; j++) {
		struct nn_lay *x = input_of(m, l, j);
		if (!x->up)
			continue;
		struct nn_ew p = { pixels(m, l), l->pub.c, l->dy_ld, x->dy_ld, 0 };
		m->be->add(m->be, &p, l->dy, x->dy, x->gset);
		x->gset = 1;
	}
}

static void
bwd_dense(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, int dx, float beta)
{
	struct nn_backend *be = m->be;
	struct nn_dense p = { m->n, x->pub.h * x->pub.w * x->pub.c, l->pub.c };
	const float *dy = l->dy;

	if (l->act == NN_ACT_RELU) {
		struct nn_ew e = { m->n, l->pub.c, l->pub.c, l->pub.c, 0 };
		be->relu_bwd(be, &e, l->y, l->dy, m->scratch, 0);
		dy = m->scratch;
	}
	be->dense_bwd(be, &p, x->y, W(m, l, 0), dy, dx ? x->dy : NULL,
	              G(m, l, 0), l->bias ? G(m, l, 1) : NULL, beta);
}

/* ReLU l's backward, or, when its BN input x folds it in, x's (the BN's
 * own step then does nothing). */
static void
bwd_relu(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, const struct nn_ew *ep,
         int dx, float beta)
{
	if (fused_relu(m, x) == l)
		bwd_bn_fused(m, x, input_of(m, x, 0), l);
	else if (dx)
		m->be->relu_bwd(m->be, ep, l->y, l->dy, x->dy, beta);
}

/* Profiling kind of layer l's backward (conv charges its own parts; a
 * ReLU folded into its BN's backward charges bn_bwd). */
static int
bwd_kind(struct nn_model *m, const struct nn_lay *l)
{
	static const int k[] = {
		[NN_INPUT] = NN_PROF_INPUT, [NN_CONV2D] = NN_PROF_CONV_BWD_DATA,
		[NN_BATCHNORM] = NN_PROF_BN_BWD, [NN_RELU] = NN_PROF_RELU_BWD,
		[NN_MAXPOOL] = NN_PROF_POOL_BWD, [NN_AVGPOOL] = NN_PROF_POOL_BWD,
		[NN_CONCAT] = NN_PROF_CONCAT, [NN_GAP] = NN_PROF_GAP,
		[NN_DENSE] = NN_PROF_DENSE, [NN_DROPOUT] = NN_PROF_DROPOUT,
		[NN_ZEROPAD] = NN_PROF_PAD, [NN_ADD] = NN_PROF_ADD,
		[NN_DWCONV] = NN_PROF_DWCONV_BWD,
	};

	if (l->pub.type == NN_RELU && fused_relu(m, &m->lay[l->pub.in[0]]) == l)
		return NN_PROF_BN_BWD;
	return k[l->pub.type];
}

static void
bwd_layer(struct nn_model *m, int i)
{
	struct nn_backend *be = m->be;
	struct nn_lay *l = &m->lay[i], *x = input_of(m, l, 0);
	int dx = x->up, wt = updates_weights(m, l);
	float beta = x->gset ? 1 : 0;
	struct nn_pool pp;
	struct nn_ew ep = { pixels(m, l), l->pub.c, x->dy_ld, l->dy_ld, l->cap };
	struct nn_gap gp = { m->n, x->pub.h * x->pub.w, l->pub.c, x->dy_ld };
	struct nn_padg dp;
	size_t n = (size_t)pixels(m, l) * l->pub.c;

	nn_prof_mark(m);
	switch (l->pub.type) {
	case NN_INPUT:
		return;
	case NN_ZEROPAD:
		dp = pad_geom(m, l, x, x->dy_ld, l->dy_ld);
		if (dx)
			be->pad_bwd(be, &dp, l->dy, x->dy, beta);
		break;
	case NN_ADD:
		bwd_add(m, l);
		nn_prof_add(m, NN_PROF_ADD);
		return;
	case NN_CONV2D: case NN_DWCONV:
		bwd_conv(m, l, x, dx, wt, beta);
		if (l->pub.type == NN_CONV2D)
			nn_prof_add(m, NN_PROF_CONV_BWD_DATA);
		break;
	case NN_BATCHNORM:
		bwd_bn(m, l, x, dx, beta);
		break;
	case NN_RELU:
		bwd_relu(m, l, x, &ep, dx, beta);
		break;
	case NN_MAXPOOL: case NN_AVGPOOL:
		pp = pool_geom(m, l, x, x->y_ld, l->dy_ld);
		if (dx)
			be->pool_bwd(be, &pp, x->y, l->dy, x->dy, beta);
		break;
	case NN_CONCAT:
		bwd_concat(m, l);
		nn_prof_add(m, NN_PROF_CONCAT);
		return;
	case NN_GAP:
		if (dx)
			be->gap_bwd(be, &gp, l->dy, x->dy, beta);
		break;
	case NN_DENSE:
		bwd_dense(m, l, x, dx, beta);
		break;
	case NN_DROPOUT:
		if (dx && m->training && l->rate > 0)
			be->dropout_bwd(be, n, l->mask, l->dy, x->dy, beta);
		else if (dx)
			be->add(be, &ep, l->dy, x->dy, beta);
		break;
	}
	nn_prof_add(m, bwd_kind(m, l));
	x->gset |= dx;
}

/* Tells the gradient hook that layer l's weight gradients are final. */
static void
grad_ready(struct nn_model *m, const struct nn_lay *l)
{
	const struct nn_param *a = &m->par[l->p0], *b = &m->par[l->p0 + l->np - 1];

	m->ghook.ready(m->ghook.ctx, m->g, a->offset, b->offset + b->size);
}

/* up: which outputs need a gradient (a trainable weight at or above). */
static void
mark_up(struct nn_model *m)
{
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		l->up = updates_weights(m, l);
		for (int j = 0; j < l->pub.nin; j++)
			l->up |= m->lay[l->pub.in[j]].up;
		l->gset = 0;
	}
}

int
nn_backward_ops(struct nn_model *m, const float *y, const float *w)
{
	if (m->be == NULL)
		return nn_fail(m, "nn_backward: model not planned");
	if (m->flags & (NN_PLAN_INFERENCE | NN_PLAN_CAM))
		return nn_fail(m, "nn_backward: the model is planned for inference only");
	if (y == NULL)
		return nn_fail(m, "nn_backward: no labels");
	mark_up(m);
	m->bnrelu = m->bnrelu_ok && nn_bn_relu_bwd_enabled();
	nn_prof_mark(m);
	if (run_loss(m, y, w) < 0)
		return -1;
	nn_prof_add(m, NN_PROF_LOSS);
	nn_mark_need(m);
	m->lay[m->nlay - 1].gset = 1;
	for (int i = m->nlay - 1; i > 0; i--) {
		nn_recompute_at(m, i);
		if (m->lay[i].gset && m->lay[i].up)
			bwd_layer(m, i);
		if (m->ghook.ready && m->lay[i].np > 0 && updates_weights(m, &m->lay[i]))
			grad_ready(m, &m->lay[i]);
	}
	return 0;
}

int
nn_backward_to(struct nn_model *m, int to)
{
	if (m->be == NULL || m->n == 0)
		return nn_fail(m, "Grad-CAM: no forward pass yet");
	if (!(m->flags & NN_PLAN_CAM) || m->cam != to)
		return nn_fail(m, "Grad-CAM: the model is not planned for layer %s",
		               to >= 0 && to < m->nlay ? m->lay[to].pub.name : "?");
	if (m->training)
		return nn_fail(m, "Grad-CAM: the forward pass must be in inference mode");
	nn_cam_mark_up(m);
	m->lay[m->nlay - 1].gset = 1;
	for (int i = m->nlay - 1; i > to; i--)
		if (m->lay[i].gset && m->lay[i].up)
			bwd_layer(m, i);
	return 0;
}

void
nn_read_results(struct nn_model *m, float *loss, float *probs)
{
	if (loss)
		m->be->download(m->be, loss, m->loss, sizeof *loss);
	if (probs)
		m->be->download(m->be, probs, m->prob,
		                (size_t)m->n * nn_output_size(m) * sizeof *probs);
}

int
nn_backward(struct nn_model *m, const float *y, const float *w, float *loss, float *probs)
{
	if (nn_backward_ops(m, y, w) < 0)
		return -1;
	nn_read_results(m, loss, probs);
	return 0;
}

int
nn_predict_ops(struct nn_model *m)
{
	if (m->be == NULL)
		return nn_fail(m, "nn_predict: model not planned");
	return run_loss(m, NULL, NULL);
}

int
nn_predict(struct nn_model *m, float *probs)
{
	if (nn_predict_ops(m) < 0)
		return -1;
	nn_read_results(m, NULL, probs);
	return 0;
}

/* ---- optimiser ---- */

/* Does nn_step update parameter k? */
static int
updatable(const struct nn_model *m, int k)
{
	const struct nn_param *p = &m->par[k];

	return p->trainable && updates_weights(m, &m->lay[p->layer]);
}

/* One optimiser call over arena elements [a, b) (decay: with L2). */
static void
step_run(struct nn_model *m, const struct nn_optim *o, size_t a, size_t b,
         int decay, float lr_t)
{
	struct nn_backend *be = m->be;
	float l2 = decay ? o->l2 : 0;

	if (o->type == NN_ADAM)
		be->adam(be, b - a, m->p + a, m->g + a, m->m1 + a, m->m2 + a, lr_t,
		         o->beta1, o->beta2, o->eps, l2);
	else
		be->sgd(be, b - a, m->p + a, m->g + a, m->m1 + a, o->lr, o->momentum,
		        o->nesterov, l2);
}

int
nn_step(struct nn_model *m, const struct nn_optim *o)
{
	float lr_t = o->lr;

	if (m->be == NULL)
		return nn_fail(m, "nn_step: model not planned");
	if (m->g == NULL || (m->flags & NN_PLAN_CAM))
		return nn_fail(m, "nn_step: the model is planned for inference only");
	nn_prof_mark(m);
	m->t++;
	if (o->type == NN_ADAM)
		lr_t = (float)(o->lr * sqrt(1 - pow(o->beta2, (double)m->t)) /
		               (1 - pow(o->beta1, (double)m->t)));
	/* Runs of adjacent updatable parameters with the same decay share one
	 * call; the alignment gaps between them hold zeros and stay zero. */
	for (int k = 0; k < m->npar; ) {
		if (!updatable(m, k)) {
			k++;
			continue;
		}
		int decay = m->par[k].decay, e = k + 1;
		while (e < m->npar && updatable(m, e) && m->par[e].decay == decay)
			e++;
		step_run(m, o, m->par[k].offset, m->par[e - 1].offset + m->par[e - 1].size,
		         decay, lr_t);
		k = e;
	}
	nn_prof_add(m, NN_PROF_OPTIM);
	return 0;
}

int
nn_layer_output(struct nn_model *m, int layer, float *out)
{
	const struct nn_lay *l;
	size_t px, c, ld;

	if (m->be == NULL || m->n == 0)
		return nn_fail(m, "nn_layer_output: no forward pass yet");
	if (layer < 0 || layer >= m->nlay)
		return nn_fail(m, "nn_layer_output: no layer %d", layer);
	l = &m->lay[layer];
	if (m->lay[l->root].tr)
		nn_recompute_root(m, l->root, 1);
	else if (m->lay[l->root].pk && m->lay[l->root].clob)
		return nn_fail(m, "nn_layer_output: %s is not kept by an inference plan",
		            l->pub.name);
	else if (m->lay[l->root].fold && !m->training)
		return nn_fail(m, "nn_layer_output: %s: its batch norm is folded into it in "
		            "inference plans (RADPIPE_FOLD=0 keeps it)", l->pub.name);
	px = (size_t)pixels(m, l), c = l->pub.c, ld = l->y_ld;
	if (ld == c) {
		m->be->download(m->be, out, l->y, px * c * sizeof *out);
		return 0;
	}
	float *tmp = XNEW(float, (px - 1) * ld + c);
	m->be->download(m->be, tmp, l->y, ((px - 1) * ld + c) * sizeof *tmp);
	for (size_t i = 0; i < px; i++)
		memcpy(out + i * c, tmp + i * ld, c * sizeof *out);
	free(tmp);
	return 0;
}
