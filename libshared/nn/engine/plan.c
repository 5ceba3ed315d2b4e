/* plan.c — binding a model to a backend: views, liveness, allocations.
 *
 * Done once per (backend, max batch); the training loop allocates nothing.
 * See nn_impl.h for the allocations and what lives in each.  Calls only
 * down: graph.c, transfer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envflag.h"
#include "err.h"
#include "nn/engine/nn_impl.h"

static size_t
al(size_t n)
{
	return (n + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

static size_t
sample_size(const struct nn_lay *l)
{
	return (size_t)l->pub.h * l->pub.w * l->pub.c;
}

/* Layers whose ops read or write their output as dense (n, h*w*c) rows. */
static int
dense_rows(const struct nn_lay *l)
{
	switch (l->pub.type) {
	case NN_INPUT: case NN_GAP: case NN_DENSE: case NN_DROPOUT:
		return 1;
	default:
		return 0;
	}
}

/* Pixel stride layer i gets from its activation (g = 0) or gradient
 * (g = 1) owner chain: the channel count of the root. */
static int
chain_ld(const struct nn_model *m, int i, int g)
{
	int o;

	while ((o = g ? m->lay[i].gowner : m->lay[i].owner) >= 0)
		i = o;
	return m->lay[i].pub.c;
}

/* May layer x's output live inside a consumer's buffer of pixel stride ld?
 * Only if that consumer is its one reader (so its gradient has one
 * writer), it is not the input, and row-wise ops still see dense rows. */
static int
can_alias(const struct nn_lay *x, int ld)
{
	if (x->pub.type == NN_INPUT || x->ncons != 1 || x->owner >= 0)
		return 0;
	return !dense_rows(x) || ld == x->pub.c;
}

/* Decides, from the last layer back, which outputs are views into their
 * consumer's buffer: concat inputs (activation and gradient) and in-place
 * ReLU inputs (activation only: relu_bwd needs y, dy and dx apart).  A
 * ReLU may take over a RELU or CONCAT input only when its own view is
 * dense, so that y and dy of every ReLU keep equal strides.  A Grad-CAM
 * plan's layer keeps its own output (no ReLU in place on it). */
static void
plan_views(struct nn_model *m)
{
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		l->owner = l->gowner = -1;
		l->choff = l->gchoff = 0;
		l->copy_in = 0;
	}
	for (int i = m->nlay - 1; i > 0; i--) {
		struct nn_lay *l = &m->lay[i];
		int ld = chain_ld(m, i, 0), gld = chain_ld(m, i, 1), off = 0;
		if (l->pub.type == NN_CONCAT) {
			for (int j = 0; j < l->pub.nin; j++) {
				struct nn_lay *x = &m->lay[l->pub.in[j]];
				if (ld == gld && can_alias(x, ld)) {
					x->owner = x->gowner = i;
					x->choff = x->gchoff = off;
				} else {
					l->copy_in |= 1u << j;
				}
				off += x->pub.c;
			}
		} else if (l->pub.type == NN_RELU) {
			struct nn_lay *x = &m->lay[l->pub.in[0]];
			int strict = x->pub.type == NN_RELU || x->pub.type == NN_CONCAT;
			int cam = (m->flags & NN_PLAN_CAM) && l->pub.in[0] == m->cam;
			if (can_alias(x, ld) && (!strict || ld == l->pub.c) && !cam)
				x->owner = i;
		}
	}
}

int
nn_fold_enabled(void)
{
	return env_flag("RADPIPE_FOLD", 1);
}

int
nn_bn_relu_bwd_enabled(void)
{
	return env_flag("RADPIPE_BN_RELU_BWD", 1);
}

int
nn_bn_relu_reader(const struct nn_model *m, int i)
{
	const struct nn_lay *l = &m->lay[i], *r;

	if (l->pub.type != NN_BATCHNORM || l->owner < 0)
		return -1;
	r = &m->lay[l->owner];
	return r->pub.type == NN_RELU && r->pub.in[0] == i ? l->owner : -1;
}

/* Training plans on a backend with bn_relu_bwd (RADPIPE_BN_RELU_BWD not
 * 0, no --sync-bn: its backward reads the BN's dy after writing dx): the
 * input of a BN that a ReLU runs in place on gets its gradient as a view
 * of the BN's when the BN is its one reader (same shape and stride).  The
 * fused backward writes that input's gradient at the ReLU's step and
 * never the BN's, so the two share one region instead of living side by
 * side from the ReLU's step to the BN's (+50% gradient memory in
 * InceptionV3, whose BNs and ReLUs are not adjacent); unfused, relu_bwd
 * writes it and bn_bwd runs in place.  Sets m->bnrelu_ok: only such a
 * plan runs the fused backward (the gradient lifetimes it needs). */
static void
mark_bn_dx_views(struct nn_model *m, const struct nn_backend *be)
{
	m->bnrelu_ok = !(m->flags & (NN_PLAN_INFERENCE | NN_PLAN_CAM)) &&
	    be->bn_relu_bwd != NULL && m->bnsum == NULL && nn_bn_relu_bwd_enabled();
	if (!m->bnrelu_ok)
		return;
	for (int i = 1; i < m->nlay; i++) {
		struct nn_lay *x = &m->lay[m->lay[i].pub.in[0]];
		if (nn_bn_relu_reader(m, i) < 0 || x->pub.type == NN_INPUT || x->ncons != 1 ||
		    x->gowner >= 0)
			continue;
		x->gowner = i;
		x->gchoff = 0;
	}
}

/* Inference plans (RADPIPE_FOLD not 0): marks each conv whose only
 * reader is a BN to run with that BN folded into its weights and bias,
 * writing the BN's output (forward.c); the ReLU after the BN is fused too
 * when it runs in place on the BN's output, has no ceiling (ReLU6 runs on
 * its own) and the backend offers
 * conv_fwd_relu.  The folded values replace the conv's kernel and the
 * BN's moving mean in the backend's parameters (forward.c fold_params);
 * returns the floats of the largest folded kernel and bias (the host
 * buffer folding needs), 0 when nothing is folded. */
static size_t
mark_fold(struct nn_model *m, const struct nn_backend *be)
{
	size_t most = 0, n;
	int on = (m->flags & NN_PLAN_INFERENCE) && nn_fold_enabled();

	for (int i = 0; i < m->nlay; i++)
		m->lay[i].fold = m->lay[i].fold_relu = m->lay[i].folded = 0;
	for (int i = 1; on && i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i], *b = &m->lay[l->last_cons], *r;
		if (l->pub.type != NN_CONV2D || l->ncons != 1 || l->last_cons <= i ||
		    b->pub.type != NN_BATCHNORM || b->pub.in[0] != i)
			continue;
		l->fold = l->last_cons;
		b->folded = 1;
		r = b->owner >= 0 ? &m->lay[b->owner] : NULL;
		if (r != NULL && r->pub.type == NN_RELU && r->cap == 0 && r->pub.in[0] == l->fold &&
		    be->conv_fwd_relu != NULL)
			l->fold_relu = r->folded = 1;
		n = al((size_t)l->kh * l->kw * m->lay[l->pub.in[0]].pub.c * l->pub.c) +
		    al((size_t)l->pub.c);
		most = n > most ? n : most;
	}
	return most;
}

/* A gradient root: its size and backward lifetime [lo, hi] in layer
 * indices (written first by the consumer hi, last read by layer lo). */
struct groot {
	int layer, lo, hi;
	size_t size, off;
};

static int
by_size(const void *a, const void *b)
{
	const struct groot *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->layer - y->layer;
}

static int
by_off(const void *a, const void *b)
{
	const struct groot *x = *(struct groot *const *)a, *y = *(struct groot *const *)b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Lowest offset for r that overlaps no placed root alive at the same time. */
static size_t
place(struct groot *r, struct groot *placed, int np, struct groot **tmp)
{
	int nt = 0;
	size_t at = 0;

	for (int k = 0; k < np; k++)
		if (placed[k].lo <= r->hi && r->lo <= placed[k].hi)
			tmp[nt++] = &placed[k];
	qsort(tmp, nt, sizeof *tmp, by_off);
	for (int k = 0; k < nt; k++) {
		if (at + r->size <= tmp[k]->off)
			break;
		if (tmp[k]->off + tmp[k]->size > at)
			at = tmp[k]->off + tmp[k]->size;
	}
	return at;
}

/* ---- activations ---- */

/* Roots and forward lifetimes: lay[i].root, and for each root the span
 * from its first member's write to the last read of any member. */
static void
act_roots(struct nn_model *m)
{
	for (int i = m->nlay - 1; i >= 0; i--) {
		struct nn_lay *l = &m->lay[i];
		l->root = l->owner < 0 ? i : m->lay[l->owner].root;
		l->pk = l->tr = l->clob = 0;
		l->alo = i;
		l->ahi = -1;
	}
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i], *r = &m->lay[l->root];
		int hi = i == m->nlay - 1 ? m->nlay : l->last_cons > i ? l->last_cons : i;
		r->alo = i < r->alo ? i : r->alo;
		r->ahi = hi > r->ahi ? hi : r->ahi;
	}
	/* a folded conv i writes its BN's output while it reads its input */
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *r = &m->lay[m->lay[m->lay[i].fold].root];
		if (m->lay[i].fold && i < r->alo)
			r->alo = i;
	}
}

/* Can layer j be recomputed from its inputs (cheap, no side effects)? */
static int
recomputable(const struct nn_model *m, int j)
{
	switch (m->lay[j].pub.type) {
	case NN_BATCHNORM: case NN_RELU: case NN_MAXPOOL: case NN_AVGPOOL:
	case NN_CONCAT: case NN_ZEROPAD:
		return 1;
	default:
		return 0;
	}
}

/* Training plan: roots all of whose members are recomputable become
 * transient; the roots they are recomputed from stay alive (in the
 * forward plan too) until the transient one's last reader. */
static void
mark_transient(struct nn_model *m)
{
	for (int i = 0; i < m->nlay; i++)
		if (m->lay[i].root == i && i != m->nlay - 1)
			m->lay[i].tr = 1;
	for (int i = 0; i < m->nlay; i++)
		if (!recomputable(m, i))
			m->lay[m->lay[i].root].tr = 0;
	for (int r = m->nlay - 1; r > 0; r--) {
		struct nn_lay *R = &m->lay[r];
		if (R->root != r || !R->tr)
			continue;
		for (int j = R->alo; j <= r; j++) {
			const struct nn_lay *l = &m->lay[j];
			if (l->root != r)
				continue;
			for (int k = 0; k < l->pub.nin; k++) {
				struct nn_lay *X = &m->lay[m->lay[l->pub.in[k]].root];
				if (X != R && X->ahi < R->ahi)
					X->ahi = R->ahi;
			}
		}
	}
	for (int i = 0; i < m->nlay; i++)
		m->lay[i].pk = m->lay[i].tr;
}

/* Which packed roots may be overwritten, later in a forward pass, by a
 * root written after their last reader. */
static void
mark_clobbered(struct nn_model *m, const struct groot *r, int nr)
{
	for (int a = 0; a < nr; a++)
		for (int b = 0; b < nr; b++)
			if (r[b].lo > r[a].hi && r[b].off < r[a].off + r[a].size &&
			    r[a].off < r[b].off + r[b].size)
				m->lay[r[a].layer].clob = 1;
}

/* Packs the pk roots by forward liveness from offset base; returns the end.
 * A folded conv's own output is never written (it writes its BN's:
 * mark_fold), so its root takes no memory. */
static size_t
pack_acts(struct nn_model *m, size_t base)
{
	struct groot *r = XNEW(struct groot, m->nlay);
	struct groot **tmp = XNEW(struct groot *, m->nlay);
	size_t end = 0;
	int nr = 0;

	for (int i = 0; i < m->nlay; i++) {
		const struct nn_lay *l = &m->lay[i];
		if (l->root == i && l->pk)
			r[nr++] = (struct groot){ .layer = i, .lo = l->alo, .hi = l->ahi,
				.size = l->fold ? 0 : al((size_t)m->max_batch * sample_size(l)) };
	}
	qsort(r, nr, sizeof *r, by_size);
	for (int k = 0; k < nr; k++) {
		r[k].off = place(&r[k], r, k, tmp);
		m->lay[r[k].layer].aoff = base + r[k].off;
		if (r[k].off + r[k].size > end)
			end = r[k].off + r[k].size;
	}
	mark_clobbered(m, r, nr);
	free(r);
	free(tmp);
	return base + end;
}

void
nn_cam_mark_up(struct nn_model *m)
{
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		l->up = i == m->cam;
		for (int j = 0; j < l->pub.nin; j++)
			l->up |= m->lay[l->pub.in[j]].up;
		l->gset = 0;
	}
}

/* Grad-CAM plan: roots with a member at or above the CAM layer (read in
 * backward, or the CAM layer itself) are kept; the others are packed by
 * forward liveness as in an inference plan. */
static void
mark_cam_packed(struct nn_model *m)
{
	nn_cam_mark_up(m);
	for (int i = 0; i < m->nlay; i++)
		m->lay[i].pk = m->lay[i].root == i;
	for (int i = 0; i < m->nlay; i++)
		if (m->lay[i].up)
			m->lay[m->lay[i].root].pk = 0;
}

/* Activation offsets: kept roots one region each, then the packed roots,
 * then the dropout masks; returns the total. */
static size_t
plan_acts(struct nn_model *m, int transient)
{
	size_t off = 0, nb = (size_t)m->max_batch;

	act_roots(m);
	if (m->flags & NN_PLAN_INFERENCE) {
		for (int i = 0; i < m->nlay; i++)
			m->lay[i].pk = m->lay[i].root == i;
	} else if (m->flags & NN_PLAN_CAM) {
		mark_cam_packed(m);
	} else if (transient)
		mark_transient(m);
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		if (l->owner < 0 && !l->pk) {
			l->aoff = off;
			off += al(xmul(nb, sample_size(l), "activations"));
		}
	}
	off = pack_acts(m, off);
	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		if (l->pub.type == NN_DROPOUT) {
			l->moff = off;
			off += al(nb * sample_size(l));
		}
	}
	return off;
}

/* Gradient offsets packed by liveness; returns the size of the region.
 * A Grad-CAM plan gives no memory to roots below the CAM layer (their
 * gradients are never computed). */
static size_t
plan_grads(struct nn_model *m)
{
	struct groot *r = XNEW(struct groot, m->nlay);
	struct groot **tmp = XNEW(struct groot *, m->nlay);
	int *slot = XNEW(int, m->nlay), nr = 0, relu;
	size_t end = 0;

	for (int i = m->nlay - 1; i >= 0; i--) {
		struct nn_lay *l = &m->lay[i];
		int hi = i == m->nlay - 1 ? m->nlay : l->last_cons > i ? l->last_cons : i;
		int s = l->gowner >= 0 ? slot[l->gowner] : nr;
		int none = (m->flags & NN_PLAN_CAM) && !l->up;
		if (l->gowner < 0)
			r[nr++] = (struct groot){ .layer = i, .lo = i, .hi = hi,
				.size = none ? 0 : al((size_t)m->max_batch * sample_size(l)) };
		slot[i] = s;
		r[s].lo = i;
		r[s].hi = hi > r[s].hi ? hi : r[s].hi;
	}
	/* the fused BN+ReLU backward writes the BN input's gradient at the
	 * ReLU's step (exec.c bwd_bn_fused): it lives from there (already so
	 * where it is a view of the BN's: mark_bn_dx_views) */
	for (int i = 1; i < m->nlay && m->bnrelu_ok; i++) {
		struct groot *x = &r[slot[m->lay[i].pub.in[0]]];
		if ((relu = nn_bn_relu_reader(m, i)) >= 0 && x->hi < relu)
			x->hi = relu;
	}
	qsort(r, nr, sizeof *r, by_size);
	for (int k = 0; k < nr; k++) {
		r[k].off = place(&r[k], r, k, tmp);
		m->lay[r[k].layer].goff = r[k].off;
		if (r[k].off + r[k].size > end)
			end = r[k].off + r[k].size;
	}
	free(r);
	free(tmp);
	free(slot);
	return end;
}

/* Largest n*units of a Dense with ReLU (its pre-activation gradient). */
static size_t
scratch_size(const struct nn_model *m)
{
	size_t s = 0;

	for (int i = 0; i < m->nlay; i++) {
		const struct nn_lay *l = &m->lay[i];
		if (l->pub.type == NN_DENSE && l->act == NN_ACT_RELU &&
		    (size_t)m->max_batch * l->pub.c > s)
			s = (size_t)m->max_batch * l->pub.c;
	}
	return al(s);
}

/* Points every layer's views into the allocations. */
static void
bind_views(struct nn_model *m)
{
	for (int i = m->nlay - 1; i >= 0; i--) {
		struct nn_lay *l = &m->lay[i];
		if (l->owner < 0) {
			l->y = m->acts + l->aoff;
			l->y_ld = l->pub.c;
		} else {
			l->y = m->lay[l->owner].y + l->choff;
			l->y_ld = m->lay[l->owner].y_ld;
		}
		if (m->flags & NN_PLAN_INFERENCE) {
			l->dy = i == m->nlay - 1 ? m->grads : NULL;
			l->dy_ld = l->pub.c;
		} else if (l->gowner < 0) {
			l->dy = m->grads + l->goff;
			l->dy_ld = l->pub.c;
		} else {
			l->dy = m->lay[l->gowner].dy + l->gchoff;
			l->dy_ld = m->lay[l->gowner].dy_ld;
		}
		l->mask = l->pub.type == NN_DROPOUT ? m->acts + l->moff : NULL;
	}
}

/* aux: BN statistics, then labels, weights (n*k each: a multi-label
 * sigmoid output has k targets per sample), loss and probabilities. */
static size_t
plan_aux(struct nn_model *m, int bind)
{
	size_t off = 0, ny = (size_t)m->max_batch * (size_t)nn_output_size(m);

	for (int i = 0; i < m->nlay; i++) {
		struct nn_lay *l = &m->lay[i];
		if (l->pub.type != NN_BATCHNORM)
			continue;
		if (bind) {
			l->mean = m->aux + off;
			l->invstd = m->aux + off + al(l->pub.c);
		}
		off += 2 * al(l->pub.c);
	}
	if (bind) {
		m->labels = m->aux + off;
		m->weights = m->labels + al(ny);
		m->loss = m->weights + al(ny);
		m->prob = m->loss + NN_ALIGN;
	}
	return off + 2 * al(ny) + NN_ALIGN + al(ny);
}

/* Structural checks the ops rely on; -1 with the reason in m->err. */
static int
check_graph(struct nn_model *m)
{
	for (int i = 1; i < m->nlay; i++) {
		const struct nn_lay *l = &m->lay[i], *x = &m->lay[l->pub.in[0]];
		int rows = l->pub.type == NN_DENSE || l->pub.type == NN_DROPOUT;
		if (rows && (x->y_ld != x->pub.c || x->dy_ld != x->pub.c)) {
			snprintf(m->err, sizeof m->err, "%s: input %s is a strided "
			         "view; dense and dropout need dense rows", l->pub.name, x->pub.name);
			return -1;
		}
		if ((l->pub.type == NN_RELU || l->pub.type == NN_DENSE) &&
		    !(m->flags & NN_PLAN_INFERENCE) &&
		    l->y_ld != l->dy_ld) {
			snprintf(m->err, sizeof m->err, "%s: internal: strides differ", l->pub.name);
			return -1;
		}
		if (l->pub.type == NN_DENSE && i != m->nlay - 1 &&
		    (l->act == NN_ACT_SIGMOID || l->act == NN_ACT_SOFTMAX)) {
			snprintf(m->err, sizeof m->err, "%s: sigmoid/softmax only on the last layer", l->pub.name);
			return -1;
		}
	}
	return 0;
}

/* One backend allocation of n floats, zeroed; NULL sets the error. */
static float *
balloc(struct nn_model *m, struct nn_backend *be, size_t n, const char *what)
{
	size_t bytes = xmul(n ? n : 1, sizeof(float), what);
	float *p = be->alloc(be, bytes);

	if (p == NULL)
		snprintf(m->err, sizeof m->err, "%s backend: out of memory for %s "
		         "(%zu MiB)", be->name, what, bytes >> 20);
	else
		be->zero(be, p, bytes);
	return p;
}

/* Keeps what the old plan learned: params and moments back to the host;
 * -1 (error set) when the old backend failed. */
static int
save_state(struct nn_model *m)
{
	if (m->be == NULL)
		return 0;
	if (nn_params_download(m) < 0)
		return -1;
	if (m->m1 == NULL)
		return 0;
	nn_moments_host(m, 0);
	nn_moments_host(m, 1);
	return nn_moments_download(m);
}

/* The backend allocations of the plan; -1 (error set) when one fails. */
static int
plan_alloc(struct nn_model *m, struct nn_backend *be)
{
	int inf = (m->flags & NN_PLAN_INFERENCE) != 0;
	int mom = !inf && !(m->flags & NN_PLAN_CAM);

	m->be = be;
	/* training on host memory: the host copy is the parameters */
	m->p_host = !inf && be->host_mem && m->host != NULL;
	if (!(m->p = m->p_host ? m->host : balloc(m, be, m->arena, "parameters")) ||
	    (!inf && !(m->g = balloc(m, be, m->arena, "gradients"))) ||
	    (mom && !(m->m1 = balloc(m, be, m->arena, "moments"))) ||
	    (mom && !(m->m2 = balloc(m, be, m->arena, "moments"))) ||
	    !(m->acts = balloc(m, be, m->acts_size, "activations")) ||
	    !(m->grads = balloc(m, be, m->grads_size, "activation gradients")) ||
	    !(m->aux = balloc(m, be, m->aux_size, "statistics"))) {
		nn_plan_release(m);
		return -1;
	}
	m->scratch = inf ? NULL : m->grads + m->grads_size - scratch_size(m);
	return 0;
}

int
nn_model_plan(struct nn_model *m, struct nn_backend *be, int max_batch)
{
	return nn_model_plan_flags(m, be, max_batch, 0);
}

int
nn_model_plan_flags(struct nn_model *m, struct nn_backend *be, int max_batch,
                    unsigned flags)
{
	if (be == NULL || max_batch <= 0) {
		snprintf(m->err, sizeof m->err, "nn_model_plan: no backend or batch %d", max_batch);
		return -1;
	}
	if (save_state(m) < 0)
		return -1;
	nn_plan_release(m);
	m->max_batch = max_batch;
	m->flags = flags;
	plan_views(m);
	mark_bn_dx_views(m, be);
	m->fold_size = mark_fold(m, be);
	m->acts_size = plan_acts(m, !(flags & NN_PLAN_KEEP) && be->bn_apply != NULL);
	/* inference: only the loss's dz (nn_predict runs the loss) */
	m->grads_size = flags & NN_PLAN_INFERENCE ?
	    al((size_t)max_batch * nn_output_size(m)) : plan_grads(m) + scratch_size(m);
	m->aux_size = plan_aux(m, 0);
	if (plan_alloc(m, be) < 0)
		return -1;
	bind_views(m);
	plan_aux(m, 1);
	if (check_graph(m) < 0) {
		nn_plan_release(m);
		return -1;
	}
	nn_params_upload(m);
	if (m->mhost[0] && m->mhost[1] && m->m1)
		nn_moments_upload(m);
	m->n = 0;
	return 0;
}

void
nn_plan_memory(const struct nn_model *m, struct nn_mem *memP)
{
	size_t f = sizeof(float);

	memset(memP, 0, sizeof *memP);
	if (m->be == NULL)
		return;
	memP->params = (m->flags & NN_PLAN_INFERENCE ? 1 :
	                m->flags & NN_PLAN_CAM ? 2 : 4) * m->arena * f;
	memP->acts = m->acts_size * f;
	memP->grads = m->grads_size * f;
	memP->aux = m->aux_size * f;
}

/* Is layer i at or after a global pooling or a Dense (no spatial extent
 * left)?  One pass in topological order. */
static int
flat(const struct nn_model *m, int i)
{
	int *f = XNEW(int, (size_t)i + 1), r;

	for (int k = 0; k <= i; k++) {
		const struct nn_lay *l = &m->lay[k];
		f[k] = l->pub.type == NN_GAP || l->pub.type == NN_DENSE ||
		       l->pub.type == NN_DROPOUT;
		for (int j = 0; j < l->pub.nin; j++)
			f[k] |= f[l->pub.in[j]];
	}
	r = f[i];
	free(f);
	return r;
}

int
nn_cam_check(struct nn_model *m, int layer)
{
	if (layer < 0 || layer >= m->nlay)
		return nn_fail(m, "Grad-CAM: no layer %d", layer);
	if (flat(m, layer))
		return nn_fail(m, "Grad-CAM: layer %s has no spatial extent (it "
		               "comes after the global pooling); name a layer before it",
		               m->lay[layer].pub.name);
	if (nn_output_act(m) != NN_ACT_SIGMOID && nn_output_act(m) != NN_ACT_SOFTMAX)
		return nn_fail(m, "Grad-CAM: the output must be a Dense with sigmoid or softmax");
	/* the up marks of layer; then those of the planned layer again */
	int plan = m->cam, reach;
	m->cam = layer;
	nn_cam_mark_up(m);
	reach = m->lay[m->nlay - 1].up;
	m->cam = plan;
	if (m->flags & NN_PLAN_CAM)
		nn_cam_mark_up(m);
	if (!reach)
		return nn_fail(m, "Grad-CAM: the output does not depend on layer %s",
		               m->lay[layer].pub.name);
	return 0;
}

int
nn_model_plan_cam(struct nn_model *m, struct nn_backend *be, int max_batch, int layer)
{
	if (nn_cam_check(m, layer) < 0)
		return -1;
	m->cam = layer;
	return nn_model_plan_flags(m, be, max_batch, NN_PLAN_CAM);
}
