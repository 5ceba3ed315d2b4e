/* cpu_bnbwd.c — the cpu backend's fused batch-norm (+ReLU) training
 * backward (bn_relu_bwd, backend.h): plain OpenMP loops that read the
 * strided x and dy in place, no packed copies.
 *
 * Two passes over the pixels instead of relu_bwd's one, bn_bwd's packing
 * of x and dy, oneDNN's two and the unpacking of dx:
 *   1. per channel, in double, sg = sum g and sx = sum g*(x - mean), where
 *      g = dy masked by the ReLU; each thread sums a fixed slice of pixels
 *      and the slices are added in order (the same bytes for a given
 *      thread count, as cpu_norm.c's bn_sums);
 *   2. dx = beta_acc*dx + gamma*invstd*(g - sg/m - xhat*invstd*sx/m).
 * The mask is recomputed from x: v = (x - mean)*invstd*gamma + beta in
 * the same float operations as cpu_bn_apply (cpu_norm.c), so v > 0 [and v
 * < cap] is exactly where the forward's ReLU passed its gradient.
 * Built with -fno-trapping-math (mk/cpu.mk): without it GCC 12 keeps the
 * masked float -> double conversion of pass 1 behind a branch and the
 * loop scalar; values and roundings are the same either way.
 */
#include <omp.h>
#include <stddef.h>

#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

/* Masks: none (plain BN), ReLU, ReLU with a ceiling (ReLU6). */
enum { BNB_NONE, BNB_RELU, BNB_CAP };

/* Per-channel constants: gamma (1 when absent), beta (0), and the pass 2
 * coefficients a = gamma*invstd, mg = sg/m, mx = invstd*sx/m. */
struct bnb {
	const float *mean, *invstd;
	float *gam, *bet, *a, *mg, *mx;
	float cap;
	int mode;
	const struct bnb_isa *isa;
};

/* Row functions of one instruction set (see BNB_ROWS). */
struct bnb_isa {
	void (*sums)(const struct bnb *s, const float *a, const float *d, int ch,
	             double *q, double *qx);
	void (*dx)(const struct bnb *s, const float *a, const float *d, float *o, int ch,
	           int acc);
};

/* dy[k] where the ReLU of v = bn(x) passed it, else 0: cpu_bn_apply's
 * expression, so that the mask is the forward's bit for bit. */
static inline __attribute__((always_inline)) float
bnb_g(const struct bnb *s, float x, float d, int k, int mode)
{
	float v = (x - s->mean[k]) * s->invstd[k] * s->gam[k] + s->bet[k];
	int pass = v > 0.0f;

	if (mode == BNB_CAP)            /* & (no branch) keeps the loop a vector one */
		pass &= v < s->cap;
	return mode == BNB_NONE || pass ? d : 0.0f;
}

/* Pass 1 over one pixel row: q[k] += g, qx[k] += g*(x - mean). */
static inline __attribute__((always_inline)) void
bnb_row_sums(const struct bnb *s, const float *a, const float *d, int ch,
    double *q, double *qx, int mode)
{
	int k;

	#pragma omp simd
	for (k = 0; k < ch; k++) {
		float g = bnb_g(s, a[k], d[k], k, mode);

		q[k] += g;
		qx[k] += (double)g * ((double)a[k] - s->mean[k]);
	}
}

/* Pass 1: sg[k], sx[k] (s[0..c), s[c..2c)) over fixed per-thread slices
 * of pixels, added in thread order. */
static void
bnb_sums(struct cpu *c, const struct nn_bn *p, const float *x, const float *dy,
    const struct bnb *s, double *part, double *sum)
{
	const long m = p->m;
	const int ch = p->c, nt = c->threads;

	#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num(), k;
		long i0 = m * t / nt, i1 = m * (t + 1) / nt, i;
		double *q = part + (size_t)t * 2 * ch, *qx = q + ch;

		for (k = 0; k < 2 * ch; k++)
			q[k] = 0.0;
		for (i = i0; i < i1; i++)
			s->isa->sums(s, x + (size_t)i * p->x_ld, dy + (size_t)i * p->y_ld,
			    ch, q, qx);
	}
	for (int k = 0; k < 2 * ch; k++) {
		sum[k] = 0.0;
		for (int t = 0; t < nt; t++)
			sum[k] += part[(size_t)t * 2 * ch + k];
	}
}

/* Pass 2 over one pixel row: o = beta_acc*o + a*(g - mg - xhat*mx). */
static inline __attribute__((always_inline)) void
bnb_row_dx(const struct bnb *s, const float *a, const float *d, float *o, int ch,
    int acc, int mode)
{
	int k;

	if (acc) {
		#pragma omp simd
		for (k = 0; k < ch; k++) {
			float g = bnb_g(s, a[k], d[k], k, mode);
			float xh = (a[k] - s->mean[k]) * s->invstd[k];

			o[k] += s->a[k] * (g - s->mg[k] - xh * s->mx[k]);
		}
	} else {
		#pragma omp simd
		for (k = 0; k < ch; k++) {
			float g = bnb_g(s, a[k], d[k], k, mode);
			float xh = (a[k] - s->mean[k]) * s->invstd[k];

			o[k] = s->a[k] * (g - s->mg[k] - xh * s->mx[k]);
		}
	}
}

/* The row functions compiled for one instruction set: the same IEEE
 * operations (no FMA: C11 mode contracts nothing) on wider vectors, so
 * the same bits as the "default" build and as cpu_bn_apply; they are
 * where the time goes (SSE2 alone made the fused pass slower than
 * relu_bwd + oneDNN's JIT kernels). */
#define BNB_ROWS(isa, target)                                                   \
target static void                                                              \
bnb_sums_##isa(const struct bnb *s, const float *a, const float *d, int ch,     \
    double *q, double *qx)                                                      \
{                                                                               \
	if (s->mode == BNB_NONE)                                                \
		bnb_row_sums(s, a, d, ch, q, qx, BNB_NONE);                     \
	else if (s->mode == BNB_RELU)                                           \
		bnb_row_sums(s, a, d, ch, q, qx, BNB_RELU);                     \
	else                                                                    \
		bnb_row_sums(s, a, d, ch, q, qx, BNB_CAP);                      \
}                                                                               \
target static void                                                              \
bnb_dx_##isa(const struct bnb *s, const float *a, const float *d, float *o,     \
    int ch, int acc)                                                            \
{                                                                               \
	if (s->mode == BNB_NONE)                                                \
		bnb_row_dx(s, a, d, o, ch, acc, BNB_NONE);                      \
	else if (s->mode == BNB_RELU)                                           \
		bnb_row_dx(s, a, d, o, ch, acc, BNB_RELU);                      \
	else                                                                    \
		bnb_row_dx(s, a, d, o, ch, acc, BNB_CAP);                       \
}                                                                               \
static const struct bnb_isa bnb_##isa = { bnb_sums_##isa, bnb_dx_##isa };

BNB_ROWS(base, )
#if defined(__x86_64__) && defined(__GNUC__)
BNB_ROWS(avx2, __attribute__((target("avx2"))))
BNB_ROWS(avx512, __attribute__((target("avx512f"))))
#endif

/* The widest row functions this CPU runs. */
static const struct bnb_isa *
bnb_pick(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx512f"))
		return &bnb_avx512;
	if (__builtin_cpu_supports("avx2"))
		return &bnb_avx2;
#endif
	return &bnb_base;
}

/* Pass 2: dx over all pixels. */
static void
bnb_dx(struct cpu *c, const struct nn_bn *p, const float *x, const float *dy,
    const struct bnb *s, float *dx, int acc)
{
	const long m = p->m;
	long i;

	#pragma omp parallel for schedule(static) num_threads(c->threads)
	for (i = 0; i < m; i++)
		s->isa->dx(s, x + (size_t)i * p->x_ld, dy + (size_t)i * p->y_ld,
		    dx + (size_t)i * p->x_ld, p->c, acc);
}

void
cpu_bn_relu_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *dy, const float *gamma, const float *beta, const float *mean,
    const float *invstd, float *dx, float *dgamma, float *dbeta, float beta_acc,
    int relu, float cap)
{
	struct cpu *c = cpu_of(be);
	const int ch = p->c;
	/* scratch slot 3 (per-channel arrays, like bn_apply's): the thread
	 * partials and the sums in double, then five float vectors */
	size_t nd = ((size_t)c->threads + 1) * 2 * ch;
	double *part = (double *)cpu_buf(c, 3, nd * sizeof(double) + 5 * (size_t)ch * sizeof(float));
	double *sum = part + (size_t)c->threads * 2 * ch;
	float *f = (float *)(part + nd);
	struct bnb s = { mean, invstd, f, f + ch, f + 2 * ch, f + 3 * ch, f + 4 * ch,
	                 cap, !relu ? BNB_NONE : cap > 0.0f ? BNB_CAP : BNB_RELU, bnb_pick() };
	int k;

	if (cpu_failed(c))
		return;
	for (k = 0; k < ch; k++) {
		s.gam[k] = gamma != NULL ? gamma[k] : 1.0f;
		s.bet[k] = beta != NULL ? beta[k] : 0.0f;
	}
	bnb_sums(c, p, x, dy, &s, part, sum);
	for (k = 0; k < ch; k++) {
		double sx = sum[ch + k] * invstd[k];     /* sum g*xhat */

		if (dgamma != NULL)
			dgamma[k] = (float)sx;
		if (dbeta != NULL)
			dbeta[k] = (float)sum[k];
		s.a[k] = s.gam[k] * invstd[k];
		s.mg[k] = (float)(sum[k] / p->m);
		s.mx[k] = (float)(sx / p->m);
	}
	if (dx != NULL)
		bnb_dx(c, p, x, dy, &s, dx, beta_acc != 0.0f);
}
