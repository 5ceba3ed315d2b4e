/* ref_ops.h — the reference ops over a `real` element type.
 *
 * This file is the specification of every op in backend.h, written as plain
 * loops.  The includer defines `real` first: ref.c uses float (the "ref"
 * backend), tests/unit/test_nn_fd.c uses double (finite differences).
 * Everything here is static inline; nothing else is needed but the structs
 * of backend.h and rng_philox_uniform.
 *
 * Layouts: activations NHWC, consecutive pixels x_ld/y_ld elements apart;
 * conv kernels HWIO; dense kernels (in, out) row-major.  Loops are ordered
 * so that the innermost one walks contiguous memory (channels).
 * Reductions (BN statistics, losses) accumulate in double.
 */
#ifndef RADPIPE_NN_REF_OPS_H
#define RADPIPE_NN_REF_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/backend.h"
#include "nn/ref/loss_math.h"
#include "rng.h"

/* dx = beta*dx over m pixels of c channels; beta 0 clears (even NaNs). */
static inline void
ref_scale_view(real *dx, int m, int c, int ld, real beta)
{
	for (int i = 0; i < m; i++)
		for (int k = 0; k < c; k++)
			dx[(size_t)i * ld + k] = beta == 0 ? 0 : beta * dx[(size_t)i * ld + k];
}

/* ---- convolution ---------------------------------------------------- */

/* The operands of a convolution op; each op uses some of them. */
struct ref_conv_io {
	const real *x, *w, *bias, *dy;
	real *y, *dx, *dw, *db;
};

/* Called once per output pixel, yo its element offset in y/dy. */
typedef void ref_conv_pixel_fn(const struct nn_conv *p, struct ref_conv_io *io,
                               size_t yo);
/* Called once per kernel tap that lands inside the input: yo, xo and wo are
 * the element offsets of the output pixel in y/dy, the input pixel in x/dx
 * and the tap's (ic, oc) block in w/dw. */
typedef void ref_conv_tap_fn(const struct nn_conv *p, struct ref_conv_io *io,
                             size_t yo, size_t xo, size_t wo);

/* The window walk of every convolution loop: output pixels (b, oy, ox) in
 * order; for each, pixel() (unless NULL), then tap() for the kernel taps
 * (ky, kx) in order, skipping those in the padding. */
static inline void
ref_conv_walk(const struct nn_conv *p, struct ref_conv_io *io,
              ref_conv_pixel_fn *pixel, ref_conv_tap_fn *tap)
{
	for (int b = 0; b < p->n; b++)
	for (int oy = 0; oy < p->oh; oy++)
	for (int ox = 0; ox < p->ow; ox++) {
		size_t yo = ((size_t)(b * p->oh + oy) * p->ow + ox) * p->y_ld;
		if (pixel)
			pixel(p, io, yo);
		for (int ky = 0; ky < p->kh; ky++) {
			int iy = oy * p->sh - p->pt + ky;
			if (iy < 0 || iy >= p->ih)
				continue;
			for (int kx = 0; kx < p->kw; kx++) {
				int ix = ox * p->sw - p->pl + kx;
				if (ix < 0 || ix >= p->iw)
					continue;
				tap(p, io, yo, ((size_t)(b * p->ih + iy) * p->iw + ix) * p->x_ld,
				    (size_t)(ky * p->kw + kx) * p->ic * p->oc);
			}
		}
	}
}

/* Forward: y starts at the bias, then y += x*w over the window. */
static inline void
ref_conv_fwd_pixel(const struct nn_conv *p, struct ref_conv_io *io, size_t yo)
{
	for (int o = 0; o < p->oc; o++)
		io->y[yo + o] = io->bias ? io->bias[o] : 0;
}

static inline void
ref_conv_fwd_tap(const struct nn_conv *p, struct ref_conv_io *io,
                 size_t yo, size_t xo, size_t wo)
{
	real *yr = io->y + yo;
	const real *xr = io->x + xo, *wr = io->w + wo;

	for (int i = 0; i < p->ic; i++) {
		real xv = xr[i];
		const real *wi = wr + (size_t)i * p->oc;
		for (int o = 0; o < p->oc; o++)
			yr[o] += xv * wi[o];
	}
}

/* y (n, oh, ow, oc) = conv(x (n, ih, iw, ic), w (kh, kw, ic, oc)) + bias. */
static inline void
ref_conv_fwd(const struct nn_conv *p, const real *x, const real *w,
             const real *bias, real *y)
{
	struct ref_conv_io io = { .x = x, .w = w, .bias = bias, .y = y };

	ref_conv_walk(p, &io, ref_conv_fwd_pixel, ref_conv_fwd_tap);
}

/* Backward data: dx[i] += sum over o of w[i][o]*dy[o], per tap. */
static inline void
ref_conv_bwd_data_tap(const struct nn_conv *p, struct ref_conv_io *io,
                      size_t yo, size_t xo, size_t wo)
{
	const real *dyr = io->dy + yo, *wr = io->w + wo;
	real *dxr = io->dx + xo;

	for (int i = 0; i < p->ic; i++) {
		const real *wi = wr + (size_t)i * p->oc;
		real s = 0;
		for (int o = 0; o < p->oc; o++)
			s += wi[o] * dyr[o];
		dxr[i] += s;
	}
}

/* dx (n, ih, iw, ic) = beta*dx + conv_transpose(dy (n, oh, ow, oc), w). */
static inline void
ref_conv_bwd_data(const struct nn_conv *p, const real *dy, const real *w,
                  real *dx, real beta)
{
	struct ref_conv_io io = { .w = w, .dy = dy, .dx = dx };

	ref_scale_view(dx, p->n * p->ih * p->iw, p->ic, p->x_ld, beta);
	ref_conv_walk(p, &io, NULL, ref_conv_bwd_data_tap);
}

/* Backward weights: db += dy per output pixel, dw += x*dy per tap. */
static inline void
ref_conv_bwd_weights_pixel(const struct nn_conv *p, struct ref_conv_io *io,
                           size_t yo)
{
	for (int o = 0; io->db && o < p->oc; o++)
		io->db[o] += io->dy[yo + o];
}

static inline void
ref_conv_bwd_weights_tap(const struct nn_conv *p, struct ref_conv_io *io,
                         size_t yo, size_t xo, size_t wo)
{
	const real *dyr = io->dy + yo, *xr = io->x + xo;
	real *wr = io->dw + wo;

	for (int i = 0; i < p->ic; i++) {
		real xv = xr[i];
		real *wi = wr + (size_t)i * p->oc;
		for (int o = 0; o < p->oc; o++)
			wi[o] += xv * dyr[o];
	}
}

/* dw (kh, kw, ic, oc) = sum x*dy; db (oc) = sum dy (db may be NULL). */
static inline void
ref_conv_bwd_weights(const struct nn_conv *p, const real *x, const real *dy,
                     real *dw, real *db)
{
	struct ref_conv_io io = { .x = x, .dy = dy, .dw = dw, .db = db };
	size_t nw = (size_t)p->kh * p->kw * p->ic * p->oc;

	for (size_t i = 0; i < nw; i++)
		dw[i] = 0;
	for (int o = 0; db && o < p->oc; o++)
		db[o] = 0;
	ref_conv_walk(p, &io, ref_conv_bwd_weights_pixel, ref_conv_bwd_weights_tap);
}

/* ---- batch normalisation ---------------------------------------------- */

/* y = (x - mean)*invstd*gamma + beta (the batch statistics bn_fwd_train
 * saved), then max(y, 0) if relu. */
static inline void
ref_bn_apply(const struct nn_bn *p, const real *x, const real *gamma,
             const real *beta, const real *mean, const real *invstd, real *y,
             int relu)
{
	for (int i = 0; i < p->m; i++) {
		const real *xr = x + (size_t)i * p->x_ld;
		real *yr = y + (size_t)i * p->y_ld;
		for (int k = 0; k < p->c; k++) {
			real v = (xr[k] - mean[k]) * invstd[k];
			v = v * (gamma ? gamma[k] : 1) + (beta ? beta[k] : 0);
			yr[k] = relu && !(v > 0) ? 0 : v;
		}
	}
}

/* Training mode over x (m, c): batch mean and biased variance per channel;
 * y = (x - mean)*invstd*gamma + beta; the moving statistics move towards
 * the batch ones (variance times m/(m-1) when p->unbiased).
 * ws: 2*c doubles of workspace. */
static inline void
ref_bn_fwd_train(const struct nn_bn *p, const real *x, const real *gamma,
                 const real *beta, real *y, real *mean, real *invstd,
                 real *run_mean, real *run_var, double *ws)
{
	double *s1 = ws, *s2 = ws + p->c;

	for (int k = 0; k < p->c; k++)
		s1[k] = s2[k] = 0;
	for (int i = 0; i < p->m; i++)
		for (int k = 0; k < p->c; k++)
			s1[k] += x[(size_t)i * p->x_ld + k];
	for (int k = 0; k < p->c; k++)
		s1[k] /= p->m;
	for (int i = 0; i < p->m; i++)
		for (int k = 0; k < p->c; k++) {
			double d = x[(size_t)i * p->x_ld + k] - s1[k];
			s2[k] += d * d;
		}
	for (int k = 0; k < p->c; k++) {
		double var = s2[k] / p->m;
		double uvar = p->unbiased && p->m > 1 ? var * p->m / (p->m - 1) : var;
		mean[k] = (real)s1[k];
		invstd[k] = (real)(1 / sqrt(var + p->eps));
		run_mean[k] = p->momentum * run_mean[k] + (1 - p->momentum) * (real)s1[k];
		run_var[k] = p->momentum * run_var[k] + (1 - p->momentum) * (real)uvar;
	}
	ref_bn_apply(p, x, gamma, beta, mean, invstd, y, 0);
}

/* Inference mode: y = (x - run_mean)/sqrt(run_var + eps)*gamma + beta. */
static inline void
ref_bn_fwd_infer(const struct nn_bn *p, const real *x, const real *gamma,
                 const real *beta, const real *run_mean, const real *run_var,
                 real *y)
{
	for (int i = 0; i < p->m; i++) {
		const real *xr = x + (size_t)i * p->x_ld;
		real *yr = y + (size_t)i * p->y_ld;
		for (int k = 0; k < p->c; k++) {
			real rstd = (real)(1 / sqrt((double)run_var[k] + p->eps));
			real v = (xr[k] - run_mean[k]) * rstd;
			yr[k] = v * (gamma ? gamma[k] : 1) + (beta ? beta[k] : 0);
		}
	}
}

/* Backward of training mode.  With xh = (x - mean)*invstd and g = dy*gamma:
 * dx = invstd*(g - mean(g) - xh*mean(g*xh)); dgamma = sum dy*xh;
 * dbeta = sum dy.  ws: 2*c doubles. */
static inline void
ref_bn_bwd(const struct nn_bn *p, const real *x, const real *dy,
           const real *gamma, const real *mean, const real *invstd,
           real *dx, real *dgamma, real *dbeta, real beta_acc, double *ws)
{
	double *sdy = ws, *sdyx = ws + p->c;

	for (int k = 0; k < p->c; k++)
		sdy[k] = sdyx[k] = 0;
	for (int i = 0; i < p->m; i++) {
		const real *xr = x + (size_t)i * p->x_ld;
		const real *dr = dy + (size_t)i * p->y_ld;
		for (int k = 0; k < p->c; k++) {
			sdy[k] += dr[k];
			sdyx[k] += dr[k] * ((xr[k] - mean[k]) * invstd[k]);
		}
	}
	for (int k = 0; k < p->c; k++) {
		if (dgamma)
			dgamma[k] = (real)sdyx[k];
		if (dbeta)
			dbeta[k] = (real)sdy[k];
	}
	for (int i = 0; i < p->m; i++) {
		const real *xr = x + (size_t)i * p->x_ld;
		const real *dr = dy + (size_t)i * p->y_ld;
		real *dxr = dx + (size_t)i * p->x_ld;
		for (int k = 0; k < p->c; k++) {
			real g = gamma ? gamma[k] : 1;
			real xh = (xr[k] - mean[k]) * invstd[k];
			real v = g * invstd[k] * (dr[k] - (real)(sdy[k] / p->m)
			                          - xh * (real)(sdyx[k] / p->m));
			dxr[k] = beta_acc == 0 ? v : beta_acc * dxr[k] + v;
		}
	}
}

/* Backward of inference mode: dx = beta_acc*dx + dy*gamma/sqrt(run_var+eps). */
static inline void
ref_bn_bwd_infer(const struct nn_bn *p, const real *dy, const real *gamma,
                 const real *run_var, real *dx, real beta_acc)
{
	for (int i = 0; i < p->m; i++) {
		const real *dr = dy + (size_t)i * p->y_ld;
		real *dxr = dx + (size_t)i * p->x_ld;
		for (int k = 0; k < p->c; k++) {
			real rstd = (real)(1 / sqrt((double)run_var[k] + p->eps));
			real v = dr[k] * (gamma ? gamma[k] : 1) * rstd;
			dxr[k] = beta_acc == 0 ? v : beta_acc * dxr[k] + v;
		}
	}
}

/* ---- elementwise -------------------------------------------------------- */

/* y = max(x, 0), then min(y, cap) when cap > 0, over (m, c); y may
 * equal x. */
static inline void
ref_relu_fwd(const struct nn_ew *p, const real *x, real *y)
{
	real cap = p->cap;

	for (int i = 0; i < p->m; i++)
		for (int k = 0; k < p->c; k++) {
			real v = x[(size_t)i * p->x_ld + k];
			v = v > 0 ? v : 0;
			y[(size_t)i * p->y_ld + k] = cap > 0 && v > cap ? cap : v;
		}
}

/* dx (ld x_ld) = beta*dx + (y > 0 and (cap <= 0 or y < cap) ? dy : 0);
 * y and dy have ld y_ld (TF's Relu6Grad: 0 at exactly 0 and at cap). */
static inline void
ref_relu_bwd(const struct nn_ew *p, const real *y, const real *dy, real *dx, real beta)
{
	real cap = p->cap;

	for (int i = 0; i < p->m; i++)
		for (int k = 0; k < p->c; k++) {
			size_t iy = (size_t)i * p->y_ld + k, ix = (size_t)i * p->x_ld + k;
			int pass = y[iy] > 0 && (!(cap > 0) || y[iy] < cap);
			real v = pass ? dy[iy] : 0;
			dx[ix] = beta == 0 ? v : beta * dx[ix] + v;
		}
}

/* y (ld y_ld) = beta*y + x (ld x_ld). */
static inline void
ref_add(const struct nn_ew *p, const real *x, real *y, real beta)
{
	for (int i = 0; i < p->m; i++)
		for (int k = 0; k < p->c; k++) {
			size_t iy = (size_t)i * p->y_ld + k;
			real v = x[(size_t)i * p->x_ld + k];
			y[iy] = beta == 0 ? v : beta * y[iy] + v;
		}
}

/* ---- pooling ------------------------------------------------------------ */

/* Clips window (oy, ox) to the input: rows [*y0, *y1), cols [*x0, *x1). */
static inline void
ref_pool_window(const struct nn_pool *p, int oy, int ox, int *y0, int *y1,
                int *x0, int *x1)
{
	int iy = oy * p->sh - p->pt, ix = ox * p->sw - p->pl;

	*y0 = iy < 0 ? 0 : iy;
	*x0 = ix < 0 ? 0 : ix;
	*y1 = iy + p->kh > p->ih ? p->ih : iy + p->kh;
	*x1 = ix + p->kw > p->iw ? p->iw : ix + p->kw;
}

/* y = max or mean over each window's cells inside the input. */
static inline void
ref_pool_fwd(const struct nn_pool *p, const real *x, real *y)
{
	for (int b = 0; b < p->n; b++)
	for (int oy = 0; oy < p->oh; oy++)
	for (int ox = 0; ox < p->ow; ox++) {
		real *yr = y + ((size_t)(b * p->oh + oy) * p->ow + ox) * p->y_ld;
		int y0, y1, x0, x1;
		ref_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
		for (int k = 0; k < p->c; k++)
			yr[k] = p->avg ? 0 : -INFINITY;
		for (int iy = y0; iy < y1; iy++)
			for (int ix = x0; ix < x1; ix++) {
				const real *xr = x + ((size_t)(b * p->ih + iy) * p->iw + ix) * p->x_ld;
				for (int k = 0; k < p->c; k++)
					yr[k] = p->avg ? yr[k] + xr[k] : (xr[k] > yr[k] ? xr[k] : yr[k]);
			}
		if (p->avg) {
			real cnt = (real)((y1 - y0) * (x1 - x0));
			for (int k = 0; k < p->c; k++)
				yr[k] /= cnt;
		}
	}
}

/* dx = beta*dx + pool backward: average spreads dy/count over the cells
 * inside the input; max routes dy to the first maximum (row-major). */
static inline void
ref_pool_bwd(const struct nn_pool *p, const real *x, const real *dy, real *dx, real beta)
{
	ref_scale_view(dx, p->n * p->ih * p->iw, p->c, p->x_ld, beta);
	for (int b = 0; b < p->n; b++)
	for (int oy = 0; oy < p->oh; oy++)
	for (int ox = 0; ox < p->ow; ox++) {
		const real *dyr = dy + ((size_t)(b * p->oh + oy) * p->ow + ox) * p->y_ld;
		size_t img = (size_t)b * p->ih * p->iw;
		int y0, y1, x0, x1;
		ref_pool_window(p, oy, ox, &y0, &y1, &x0, &x1);
		if (p->avg) {
			real cnt = (real)((y1 - y0) * (x1 - x0));
			for (int iy = y0; iy < y1; iy++)
				for (int ix = x0; ix < x1; ix++) {
					real *dxr = dx + (img + (size_t)iy * p->iw + ix) * p->x_ld;
					for (int k = 0; k < p->c; k++)
						dxr[k] += dyr[k] / cnt;
				}
			continue;
		}
		for (int k = 0; k < p->c; k++) {
			size_t best = img + (size_t)y0 * p->iw + x0;
			for (int iy = y0; iy < y1; iy++)
				for (int ix = x0; ix < x1; ix++) {
					size_t at = img + (size_t)iy * p->iw + ix;
					if (x[at * p->x_ld + k] > x[best * p->x_ld + k])
						best = at;
				}
			dx[best * p->x_ld + k] += dyr[k];
		}
	}
}

/* y (n, c) = mean over the hw pixels of x. */
static inline void
ref_gap_fwd(const struct nn_gap *p, const real *x, real *y)
{
	for (int b = 0; b < p->n; b++) {
		real *yr = y + (size_t)b * p->c;
		for (int k = 0; k < p->c; k++)
			yr[k] = 0;
		for (int i = 0; i < p->hw; i++) {
			const real *xr = x + ((size_t)b * p->hw + i) * p->x_ld;
			for (int k = 0; k < p->c; k++)
				yr[k] += xr[k];
		}
		for (int k = 0; k < p->c; k++)
			yr[k] /= p->hw;
	}
}

/* dx = beta*dx + dy/hw at every pixel. */
static inline void
ref_gap_bwd(const struct nn_gap *p, const real *dy, real *dx, real beta)
{
	for (int b = 0; b < p->n; b++)
		for (int i = 0; i < p->hw; i++) {
			real *dxr = dx + ((size_t)b * p->hw + i) * p->x_ld;
			for (int k = 0; k < p->c; k++) {
				real v = dy[(size_t)b * p->c + k] / p->hw;
				dxr[k] = beta == 0 ? v : beta * dxr[k] + v;
			}
		}
}

/* ---- dense --------------------------------------------------------------- */

/* y (n, out) = x (n, in) w (in, out) + b. */
static inline void
ref_dense_fwd(const struct nn_dense *p, const real *x, const real *w,
              const real *b, real *y)
{
	for (int r = 0; r < p->n; r++) {
		real *yr = y + (size_t)r * p->out;
		for (int o = 0; o < p->out; o++)
			yr[o] = b ? b[o] : 0;
		for (int i = 0; i < p->in; i++) {
			real xv = x[(size_t)r * p->in + i];
			const real *wr = w + (size_t)i * p->out;
			for (int o = 0; o < p->out; o++)
				yr[o] += xv * wr[o];
		}
	}
}

/* dx = beta*dx + dy w^T (dx may be NULL); dw = x^T dy; db = sum dy rows. */
static inline void
ref_dense_bwd(const struct nn_dense *p, const real *x, const real *w,
              const real *dy, real *dx, real *dw, real *db, real beta)
{
	for (size_t i = 0; i < (size_t)p->in * p->out; i++)
		dw[i] = 0;
	for (int o = 0; db && o < p->out; o++)
		db[o] = 0;
	for (int r = 0; r < p->n; r++) {
		const real *dyr = dy + (size_t)r * p->out;
		for (int i = 0; i < p->in; i++) {
			real xv = x[(size_t)r * p->in + i];
			const real *wr = w + (size_t)i * p->out;
			real *dwr = dw + (size_t)i * p->out;
			real s = 0;
			for (int o = 0; o < p->out; o++) {
				dwr[o] += xv * dyr[o];
				s += wr[o] * dyr[o];
			}
			if (dx) {
				real *d = dx + (size_t)r * p->in + i;
				*d = beta == 0 ? s : beta * *d + s;
			}
		}
		for (int o = 0; db && o < p->out; o++)
			db[o] += dyr[o];
	}
}

/* ---- dropout ------------------------------------------------------------- */

/* mask[i] = u(seed, counter, i) >= rate ? 1/(1-rate) : 0; y = x*mask. */
static inline void
ref_dropout_fwd(size_t n, float rate, uint64_t seed, uint64_t counter,
                const real *x, real *y, real *mask)
{
	real keep = (real)1 / ((real)1 - (real)rate);

	for (size_t i = 0; i < n; i++) {
		mask[i] = rng_philox_uniform(seed, counter, i) >= rate ? keep : 0;
		y[i] = x[i] * mask[i];
	}
}

/* dx = beta*dx + dy*mask. */
static inline void
ref_dropout_bwd(size_t n, const real *mask, const real *dy, real *dx, real beta)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = beta == 0 ? dy[i] * mask[i] : beta * dx[i] + dy[i] * mask[i];
}

/* ---- losses -------------------------------------------------------------- */

/* Sigmoid cross-entropy from logits, mean over n with weights w (NULL: 1);
 * the per-sample term is rp_bce_term (loss_math.h). */
static inline void
ref_bce_logits(int n, const real *z, const real *y, const real *w, float clip,
               real *loss, real *dz, real *prob)
{
	double sum = 0;

	for (int i = 0; i < n; i++) {
		double wi = w ? w[i] : 1, p, g;
		sum += wi * rp_bce_term(z[i], y[i], clip, &p, &g);
		dz[i] = (real)(wi * g / n);
		prob[i] = (real)p;
	}
	loss[0] = (real)(sum / n);
}

RP_DEFINE_SOFTMAX_ROW(ref_softmax_row, real)

/* Softmax over k logits per row + cross-entropy with class label[i]
 * (a float holding the index), mean over n with weights w (NULL: 1). */
static inline void
ref_softmax_ce(int n, int k, const real *z, const real *label, const real *w,
               real *loss, real *dz, real *prob)
{
	double sum = 0;

	for (int i = 0; i < n; i++) {
		size_t o = (size_t)i * k;
		sum += ref_softmax_row(k, z + o, (int)label[i], w ? w[i] : 1, n, prob + o, dz + o);
	}
	loss[0] = (real)(sum / n);
}

/* ---- optimisers ---------------------------------------------------------- */

/* Keras Adam step with lr_t given; g gets 2*l2*p added. */
static inline void
ref_adam(size_t n, real *p, const real *g, real *m, real *v, real lr_t,
         real b1, real b2, real eps, real l2)
{
	for (size_t i = 0; i < n; i++) {
		real gi = g[i] + 2 * l2 * p[i];
		m[i] = b1 * m[i] + (1 - b1) * gi;
		v[i] = b2 * v[i] + (1 - b2) * gi * gi;
		p[i] -= lr_t * m[i] / (sqrt(v[i]) + eps);
	}
}

/* Keras SGD: v = mom*v - lr*g; p += v, or p += mom*v - lr*g (nesterov). */
static inline void
ref_sgd(size_t n, real *p, const real *g, real *v, real lr, real mom,
        int nesterov, real l2)
{
	for (size_t i = 0; i < n; i++) {
		real gi = g[i] + 2 * l2 * p[i];
		v[i] = mom * v[i] - lr * gi;
		p[i] += nesterov ? mom * v[i] - lr * gi : v[i];
	}
}

/* ---- depthwise convolution, zero padding, per-channel input ---------- */

/* The window walk of a depthwise convolution (ic == oc == c): for each
 * output pixel yo and tap landing inside the input, f(yo, xo, wo) with wo
 * the tap's offset (ky*kw + kx)*c in the (kh, kw, c) kernel. */
#define REF_DW_WALK(p, yo, xo, wo, body)                                       \
	for (int b_ = 0; b_ < (p)->n; b_++)                                    \
	for (int oy_ = 0; oy_ < (p)->oh; oy_++)                                \
	for (int ox_ = 0; ox_ < (p)->ow; ox_++) {                              \
		size_t yo = ((size_t)(b_ * (p)->oh + oy_) * (p)->ow + ox_) * (p)->y_ld; \
		for (int ky_ = 0; ky_ < (p)->kh; ky_++) {                      \
			int iy_ = oy_ * (p)->sh - (p)->pt + ky_;               \
			if (iy_ < 0 || iy_ >= (p)->ih)                         \
				continue;                                      \
			for (int kx_ = 0; kx_ < (p)->kw; kx_++) {              \
				int ix_ = ox_ * (p)->sw - (p)->pl + kx_;       \
				if (ix_ < 0 || ix_ >= (p)->iw)                 \
					continue;                              \
				size_t xo = ((size_t)(b_ * (p)->ih + iy_) * (p)->iw + ix_) * (p)->x_ld; \
				size_t wo = (size_t)(ky_ * (p)->kw + kx_) * (p)->ic; \
				body                                           \
			}                                                      \
		}                                                              \
	}

/* y (n, oh, ow, c) = depthwise conv(x (n, ih, iw, c), w (kh, kw, c)) + bias. */
static inline void
ref_dwconv_fwd(const struct nn_conv *p, const real *x, const real *w,
               const real *bias, real *y)
{
	int c = p->ic;

	for (int i = 0; i < p->n * p->oh * p->ow; i++)
		for (int k = 0; k < c; k++)
			y[(size_t)i * p->y_ld + k] = bias ? bias[k] : 0;
	REF_DW_WALK(p, yo, xo, wo,
		for (int k = 0; k < c; k++)
			y[yo + k] += x[xo + k] * w[wo + k];)
}

/* dx (n, ih, iw, c) = beta*dx + depthwise conv_transpose(dy, w). */
static inline void
ref_dwconv_bwd_data(const struct nn_conv *p, const real *dy, const real *w,
                    real *dx, real beta)
{
	int c = p->ic;

	ref_scale_view(dx, p->n * p->ih * p->iw, c, p->x_ld, beta);
	REF_DW_WALK(p, yo, xo, wo,
		for (int k = 0; k < c; k++)
			dx[xo + k] += w[wo + k] * dy[yo + k];)
}

/* dw (kh, kw, c) = sum x*dy per tap; db (c) = sum dy (db may be NULL). */
static inline void
ref_dwconv_bwd_weights(const struct nn_conv *p, const real *x, const real *dy,
                       real *dw, real *db)
{
	int c = p->ic;

	for (size_t i = 0; i < (size_t)p->kh * p->kw * c; i++)
		dw[i] = 0;
	for (int k = 0; db && k < c; k++)
		db[k] = 0;
	for (int i = 0; db && i < p->n * p->oh * p->ow; i++)
		for (int k = 0; k < c; k++)
			db[k] += dy[(size_t)i * p->y_ld + k];
	REF_DW_WALK(p, yo, xo, wo,
		for (int k = 0; k < c; k++)
			dw[wo + k] += x[xo + k] * dy[yo + k];)
}

/* y (n, ih+pt+pb, iw+pl+pr, c) = x with a border of zeros. */
static inline void
ref_pad_fwd(const struct nn_padg *p, const real *x, real *y)
{
	int oh = p->ih + p->pt + p->pb, ow = p->iw + p->pl + p->pr;

	for (int b = 0; b < p->n; b++)
	for (int oy = 0; oy < oh; oy++)
	for (int ox = 0; ox < ow; ox++) {
		int iy = oy - p->pt, ix = ox - p->pl;
		int in = iy >= 0 && iy < p->ih && ix >= 0 && ix < p->iw;
		real *yr = y + ((size_t)(b * oh + oy) * ow + ox) * p->y_ld;
		const real *xr = in ? x + ((size_t)(b * p->ih + iy) * p->iw + ix) * p->x_ld : NULL;
		for (int k = 0; k < p->c; k++)
			yr[k] = in ? xr[k] : 0;
	}
}

/* dx (n, ih, iw, c) = beta*dx + the interior of dy. */
static inline void
ref_pad_bwd(const struct nn_padg *p, const real *dy, real *dx, real beta)
{
	int oh = p->ih + p->pt + p->pb, ow = p->iw + p->pl + p->pr;

	for (int b = 0; b < p->n; b++)
	for (int iy = 0; iy < p->ih; iy++)
	for (int ix = 0; ix < p->iw; ix++) {
		const real *dr = dy + ((size_t)(b * oh + iy + p->pt) * ow + ix + p->pl) * p->y_ld;
		real *xr = dx + ((size_t)(b * p->ih + iy) * p->iw + ix) * p->x_ld;
		for (int k = 0; k < p->c; k++)
			xr[k] = beta == 0 ? dr[k] : beta * xr[k] + dr[k];
	}
}

/* dst[i*c + ch] = src[i*c + order[ch]]*scale[ch] + offset[ch] for npix
 * pixels of c channels of type dt (order NULL: identity). */
static inline void
ref_input_ch(enum nn_dtype_in dt, const void *src, size_t npix, int c, const int *order,
             const float *scale, const float *offset, real *dst)
{
	const uint8_t *u8 = src;
	const uint16_t *u16 = src;
	const float *f32 = src;

	for (size_t i = 0; i < npix; i++)
		for (int ch = 0; ch < c; ch++) {
			size_t j = i * c + (order ? order[ch] : ch);
			float v = dt == NN_IN_U8 ? u8[j] : dt == NN_IN_U16 ? u16[j] : f32[j];
			dst[i * c + ch] = v * scale[ch] + offset[ch];
		}
}

#endif
