/* syncbn.c — batch norm with statistics over every rank (nn_set_bn_sync,
 * nntrain --sync-bn): R ranks with batch b then equal one process with
 * batch R*b.  Built from the ops table's existing ops, with the sums over
 * ranks taken by the caller's callback between them:
 *
 *   forward   x downloaded; per channel sum, then sum of (x - mean)^2, in
 *             double, each summed over the ranks with the element counts;
 *             mean and invstd uploaded to the layer's saved statistics and
 *             y written by bn_apply (as bn_fwd_train would from the same
 *             statistics); moving statistics updated as ref_ops.h does.
 *   backward  bn_bwd with the global mean/invstd gives this rank's
 *             s1 = sum dy and s2 = sum dy*xhat (its dbeta and dgamma) and a
 *             dx built from them; with S1, S2, the sums over the ranks
 *             (each rank's dy weighted by its share of the images, as the
 *             gradient all-reduce weights it), the right dx differs by
 *             gamma*invstd*((s1/M_r - m1) + xhat*(s2/M_r - m2)), an affine
 *             function A + B*x per channel: written into the layer's dy
 *             (read by nothing after this layer's backward) by
 *             bn_fwd_infer (moving mean 0, variance 1 - eps, gamma B,
 *             beta A) and added to dx with add.
 *
 * Memory: a host buffer (the downloaded x) and a backend scratch of 6
 * vectors of the widest BN, allocated at the first use and freed with the
 * plan.  Calls only the backend and layer.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/engine/layer.h"

void
nn_set_bn_sync(struct nn_model *m, void (*sum)(void *ctx, double *v, int n), void *ctx,
               double share)
{
	m->bnsum = sum;
	m->bnctx = ctx;
	m->bnshare = share;
}

void
nn_set_bn_share(struct nn_model *m, double share)
{
	m->bnshare = share;
}

/* Host and backend scratch for a layer of c channels and nx floats of x:
 * m->sbx (nx floats), m->sbd (4c doubles), m->sbf (6c floats), m->sbdev
 * (6c backend floats). */
static int
scratch(struct nn_model *m, int c, size_t nx)
{
	size_t k = 6 * (size_t)c;

	if (nx > m->sbx_n) {
		free(m->sbx);
		m->sbx = XNEW(float, nx);
		m->sbx_n = nx;
	}
	if (k > m->sbdev_n) {
		free(m->sbd);
		free(m->sbf);
		m->sbd = XNEW(double, k);
		m->sbf = XNEW(float, k);
		m->be->free(m->be, m->sbdev);
		m->sbdev = m->be->alloc(m->be, k * sizeof(float));
		m->sbdev_n = m->sbdev ? k : 0;
		if (m->sbdev == NULL)
			return nn_fail(m, "--sync-bn: out of backend memory");
	}
	return 0;
}

/* Sums over the ranks: x's per-channel mean (v[0..c)) and sum of squared
 * deviations (v[c..2c)); returns the global element count. */
static double
global_moments(struct nn_model *m, const float *h, int px, int c, int ld, double *v)
{
	double cnt;

	memset(v, 0, (2 * (size_t)c + 1) * sizeof *v);
	for (int i = 0; i < px; i++)
		for (int k = 0; k < c; k++)
			v[k] += h[(size_t)i * ld + k];
	v[c] = px;
	m->bnsum(m->bnctx, v, c + 1);
	cnt = v[c];
	for (int k = 0; k < c; k++)
		v[k] /= cnt, v[c + k] = 0;
	for (int i = 0; i < px; i++)
		for (int k = 0; k < c; k++) {
			double d = h[(size_t)i * ld + k] - v[k];
			v[c + k] += d * d;
		}
	m->bnsum(m->bnctx, v + c, c);
	return cnt;
}

int
nn_syncbn_fwd(struct nn_model *m, struct nn_lay *l, struct nn_lay *x)
{
	struct nn_backend *be = m->be;
	struct nn_bn p = bn_geom(m, l, x->y_ld, l->y_ld);
	float *gamma, *beta, *rmean, *rvar, *f;
	double *v, cnt;
	int c = p.c;

	bn_params(m, l, &gamma, &beta, &rmean, &rvar);
	if (be->bn_apply == NULL)
		return nn_fail(m, "%s: --sync-bn needs the backend's bn_apply", l->pub.name);
	if (scratch(m, c, (size_t)(p.m - 1) * p.x_ld + c) < 0)
		return -1;
	be->download(be, m->sbx, x->y, ((size_t)(p.m - 1) * p.x_ld + c) * sizeof(float));
	v = m->sbd, f = m->sbf;
	cnt = global_moments(m, m->sbx, p.m, c, p.x_ld, v);
	/* mean, invstd, moving mean, moving variance (as ref_ops.h) */
	be->download(be, f + 2 * c, rmean, (size_t)c * sizeof *f);
	be->download(be, f + 3 * c, rvar, (size_t)c * sizeof *f);
	for (int k = 0; k < c; k++) {
		double var = v[c + k] / cnt;
		double uvar = p.unbiased && cnt > 1 ? var * cnt / (cnt - 1) : var;
		f[k] = (float)v[k];
		f[c + k] = (float)(1 / sqrt(var + p.eps));
		f[2 * c + k] = p.momentum * f[2 * c + k] + (1 - p.momentum) * (float)v[k];
		f[3 * c + k] = p.momentum * f[3 * c + k] + (1 - p.momentum) * (float)uvar;
	}
	be->upload(be, l->mean, f, (size_t)c * sizeof *f);
	be->upload(be, l->invstd, f + c, (size_t)c * sizeof *f);
	be->upload(be, rmean, f + 2 * c, (size_t)c * sizeof *f);
	be->upload(be, rvar, f + 3 * c, (size_t)c * sizeof *f);
	be->bn_apply(be, &p, x->y, gamma, beta, l->mean, l->invstd, l->y, 0);
	return 0;
}

/* This rank's s1 = sum dy and s2 = sum dy*xhat per channel into
 * m->sbd[0..2c), on the host (bn_bwd's dgamma is not written for a BN
 * without gamma on every backend).  m->sbx holds dy, then x. */
static void
local_sums(struct nn_model *m, const struct nn_lay *l, const struct nn_lay *x, int c, int px)
{
	struct nn_backend *be = m->be;
	size_t ndy = (size_t)(px - 1) * l->dy_ld + c;
	float *f = m->sbf, *dy = m->sbx, *h = m->sbx + ndy;
	double *v = m->sbd;

	be->download(be, f, l->mean, (size_t)c * sizeof *f);
	be->download(be, f + c, l->invstd, (size_t)c * sizeof *f);
	be->download(be, dy, l->dy, ndy * sizeof *dy);
	be->download(be, h, x->y, ((size_t)(px - 1) * x->y_ld + c) * sizeof *h);
	memset(v, 0, 2 * (size_t)c * sizeof *v);
	for (int i = 0; i < px; i++)
		for (int k = 0; k < c; k++) {
			double g = dy[(size_t)i * l->dy_ld + k];
			v[k] += g;
			v[c + k] += g * ((h[(size_t)i * x->y_ld + k] - (double)f[k]) * f[c + k]);
		}
}

/* The correction A + B*x (f[4c..6c): B, A) from this rank's s1, s2 and
 * their sums over the ranks (see the top of the file). */
static void
correction(struct nn_model *m, const struct nn_lay *l, const float *gamma, int c, int px)
{
	struct nn_backend *be = m->be;
	double *v = m->sbd, w = m->bnshare > 0 ? m->bnshare : 1;
	float *f = m->sbf;

	be->download(be, f, l->mean, (size_t)c * sizeof *f);
	be->download(be, f + c, l->invstd, (size_t)c * sizeof *f);
	if (gamma)
		be->download(be, f + 2 * c, gamma, (size_t)c * sizeof *f);
	for (int k = 0; k < 2 * c; k++)
		v[2 * c + 1 + k] = v[k];                /* this rank's s1, s2 */
	for (int k = 0; k < 2 * c; k++)
		v[k] *= w;
	v[2 * c] = px;
	m->bnsum(m->bnctx, v, 2 * c + 1);
	for (int k = 0; k < c; k++) {
		double M = v[2 * c], g = (gamma ? f[2 * c + k] : 1.0) * f[c + k];
		double a = v[2 * c + 1 + k] / px - v[k] / (w * M);
		double b = v[3 * c + 1 + k] / px - v[c + k] / (w * M);
		double B = g * b * f[c + k], A = g * a - B * f[k];
		float s = sqrtf((1.0f - l->eps) + l->eps);  /* bn_fwd_infer divides by it */
		f[4 * c + k] = (float)(B * s);
		f[5 * c + k] = (float)(A);
	}
}

int
nn_syncbn_bwd(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, float *dg, float *db,
              int dx, float beta)
{
	struct nn_backend *be = m->be;
	struct nn_bn p = bn_geom(m, l, x->dy_ld, l->dy_ld), q = bn_geom(m, l, x->y_ld, l->dy_ld);
	struct nn_ew e = { p.m, p.c, l->dy_ld, x->dy_ld, 0 };
	float *gamma, *b, *rmean, *rvar, *f, *d;
	int c = p.c;

	bn_params(m, l, &gamma, &b, &rmean, &rvar);
	if (scratch(m, c, (size_t)(p.m - 1) * (l->dy_ld + x->y_ld) + 2 * (size_t)c) < 0)
		return -1;
	d = m->sbdev, f = m->sbf;
	be->bn_bwd(be, &p, x->y, l->dy, gamma, l->mean, l->invstd, x->dy, dg, db, dx ? beta : 0);
	if (!dx)
		return 0;
	local_sums(m, l, x, c, p.m);
	correction(m, l, gamma, c, p.m);
	for (int k = 0; k < c; k++)
		f[2 * c + k] = 0, f[3 * c + k] = 1.0f - l->eps;
	be->upload(be, d, f + 2 * c, 4 * (size_t)c * sizeof *f);
	be->bn_fwd_infer(be, &q, x->y, d + 2 * c, d + 3 * c, d, d + c, l->dy);
	be->add(be, &e, l->dy, x->dy, 1);
	return 0;
}
