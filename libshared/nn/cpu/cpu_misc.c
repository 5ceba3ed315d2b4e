/* cpu_misc.c — the ops of the "cpu" backend that are plain loops (OpenMP
 * across pixels or elements): input conversion, relu, add, global average
 * pooling, dropout, losses, optimisers, and the strided pack/unpack used
 * at the edges of oneDNN primitives.  Dense layers call oneDNN's sgemm.
 * Every loop gives the same bytes for any thread count: reductions run
 * in a fixed order inside one thread.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"
#include "rng.h"

/* Loops shorter than this run on one thread. */
#define PAR_MIN 16384

void
cpu_pack(float *dst, const float *src, size_t m, int c, int ld)
{
	long i;

	#pragma omp parallel for schedule(static) if (m * c > PAR_MIN)
	for (i = 0; i < (long)m; i++)
		memcpy(dst + (size_t)i * c, src + (size_t)i * ld, c * sizeof(float));
}

/* dst (m pixels, stride dld) = beta*dst + src (m pixels, stride sld). */
static void
strided_axpy(float *dst, int dld, const float *src, int sld, size_t m, int c, float beta)
{
	long i;

	#pragma omp parallel for schedule(static) if (m * c > PAR_MIN)
	for (i = 0; i < (long)m; i++) {
		float *d = dst + (size_t)i * dld;
		const float *s = src + (size_t)i * sld;
		int j;

		if (beta == 0.0f) {
			memcpy(d, s, c * sizeof(float));
		} else {
			#pragma omp simd
			for (j = 0; j < c; j++)
				d[j] = beta * d[j] + s[j];
		}
	}
}

void
cpu_unpack(float *dst, int ld, const float *src, size_t m, int c, float beta)
{
	strided_axpy(dst, ld, src, c, m, c, beta);
}

void
cpu_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t n,
    float scale, float offset, float *dst)
{
	const uint8_t *u8 = src;
	const uint16_t *u16 = src;
	const float *f = src;
	long i;

	#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (i = 0; i < (long)n; i++) {
		float v = dt == NN_IN_U8 ? (float)u8[i] : dt == NN_IN_U16 ? (float)u16[i] : f[i];

		dst[i] = v * scale + offset;
	}
}

/* The loops below copy shapes into locals (the stores could alias *p
 * otherwise) and ask for SIMD: branch-free selects, no mispredictions. */
void
cpu_relu_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y)
{
	const long m = p->m;
	const int c = p->c, xl = p->x_ld, yl = p->y_ld;
	long i;

	#pragma omp parallel for schedule(static) if ((size_t)m * c > PAR_MIN)
	for (i = 0; i < m; i++) {
		const float *a = x + (size_t)i * xl;
		float *b = y + (size_t)i * yl;
		int j;

		#pragma omp simd
		for (j = 0; j < c; j++)
			b[j] = a[j] > 0.0f ? a[j] : 0.0f;
	}
}

/* The relu's dx is strided like its x (x_ld); y and dy like y (y_ld). */
void
cpu_relu_bwd(struct nn_backend *be, const struct nn_ew *p, const float *y,
    const float *dy, float *dx, float beta)
{
	const long m = p->m;
	const int c = p->c, xl = p->x_ld, yl = p->y_ld;
	long i;

	#pragma omp parallel for schedule(static) if ((size_t)m * c > PAR_MIN)
	for (i = 0; i < m; i++) {
		const float *a = y + (size_t)i * yl, *d = dy + (size_t)i * yl;
		float *o = dx + (size_t)i * xl;
		int j;

		/* d[j] is loaded unconditionally so the select vectorises */
		if (beta == 0.0f) {
			#pragma omp simd
			for (j = 0; j < c; j++) {
				float g = d[j];
				o[j] = a[j] > 0.0f ? g : 0.0f;
			}
		} else {
			#pragma omp simd
			for (j = 0; j < c; j++) {
				float g = d[j], r = o[j];
				o[j] = beta * r + (a[j] > 0.0f ? g : 0.0f);
			}
		}
	}
}

void
cpu_add(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta)
{
	strided_axpy(y, p->y_ld, x, p->x_ld, (size_t)p->m, p->c, beta);
}

void
cpu_gap_fwd(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y)
{
	int n;

	#pragma omp parallel for schedule(static)
	for (n = 0; n < p->n; n++) {
		const float *a = x + (size_t)n * p->hw * p->x_ld;
		float *o = y + (size_t)n * p->c;
		int i, j;

		for (j = 0; j < p->c; j++)
			o[j] = 0.0f;
		for (i = 0; i < p->hw; i++)
			for (j = 0; j < p->c; j++)
				o[j] += a[(size_t)i * p->x_ld + j];
		for (j = 0; j < p->c; j++)
			o[j] /= (float)p->hw;
	}
}

void
cpu_gap_bwd(struct nn_backend *be, const struct nn_gap *p, const float *dy,
    float *dx, float beta)
{
	long i, m = (long)p->n * p->hw;

	#pragma omp parallel for schedule(static) if ((size_t)m * p->c > PAR_MIN)
	for (i = 0; i < m; i++) {
		const float *d = dy + (size_t)(i / p->hw) * p->c;
		float *o = dx + (size_t)i * p->x_ld;
		int j;

		for (j = 0; j < p->c; j++)
			o[j] = (beta == 0.0f ? 0.0f : beta * o[j]) + d[j] / (float)p->hw;
	}
}

void
cpu_round_bf16(float *dst, const float *src, size_t n)
{
	long i;

	#pragma omp parallel for schedule(static) if (n > 65536)
	for (i = 0; i < (long)n; i++) {
		uint32_t u;

		memcpy(&u, &src[i], 4);
		if ((u & 0x7f800000u) != 0x7f800000u)          /* finite: nearest even */
			u += 0x7fffu + ((u >> 16) & 1u);
		u &= 0xffff0000u;
		if (src[i] != src[i])
			u |= 0x00400000u;                       /* a NaN stays NaN */
		memcpy(&dst[i], &u, 4);
	}
}

/* a (n floats) as the dense op multiplies it: a itself in fp32, its bf16
 * rounding in scratch slot i in bf16. */
static const float *
dense_operand(struct cpu *c, int i, const float *a, size_t n)
{
	float *r;

	if (!c->bf16)
		return a;
	r = cpu_buf(c, i, n * sizeof(float));
	cpu_round_bf16(r, a, n);
	return r;
}

void
cpu_dense_fwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
    const float *w, const float *b, float *y)
{
	struct cpu *c = cpu_of(be);
	int i, j;

	x = dense_operand(c, 0, x, (size_t)p->n * p->in);
	w = dense_operand(c, 1, w, (size_t)p->in * p->out);
	DNNL_CHECK(c, dnnl_sgemm('N', 'N', p->n, p->out, p->in, 1.0f, x, p->in,
	    w, p->out, 0.0f, y, p->out));
	if (b != NULL)
		for (i = 0; i < p->n; i++)
			for (j = 0; j < p->out; j++)
				y[(size_t)i * p->out + j] += b[j];
}

void
cpu_dense_bwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
    const float *w, const float *dy, float *dx, float *dw, float *db, float beta)
{
	struct cpu *c = cpu_of(be);
	const float *dyr = dense_operand(c, 0, dy, (size_t)p->n * p->out);
	int i, j;

	if (dx != NULL)
		DNNL_CHECK(c, dnnl_sgemm('N', 'T', p->n, p->in, p->out, 1.0f, dyr, p->out,
		    dense_operand(c, 1, w, (size_t)p->in * p->out), p->out, beta, dx, p->in));
	DNNL_CHECK(c, dnnl_sgemm('T', 'N', p->in, p->out, p->n, 1.0f,
	    dense_operand(c, 2, x, (size_t)p->n * p->in), p->in, dyr, p->out, 0.0f, dw, p->out));
	if (db == NULL)
		return;
	for (j = 0; j < p->out; j++)
		db[j] = 0.0f;
	for (i = 0; i < p->n; i++)
		for (j = 0; j < p->out; j++)
			db[j] += dy[(size_t)i * p->out + j];
}

void
cpu_dropout_fwd(struct nn_backend *be, size_t n, float rate, uint64_t seed,
    uint64_t counter, const float *x, float *y, float *mask)
{
	float keep = 1.0f / (1.0f - rate);
	long i;

	#pragma omp parallel for schedule(static) if (n > 4096)
	for (i = 0; i < (long)n; i++) {
		float u = rng_philox_uniform(seed, counter, (uint64_t)i);

		mask[i] = u >= rate ? keep : 0.0f;
		y[i] = x[i] * mask[i];
	}
}

void
cpu_dropout_bwd(struct nn_backend *be, size_t n, const float *mask,
    const float *dy, float *dx, float beta)
{
	long i;

	#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (i = 0; i < (long)n; i++)
		dx[i] = (beta == 0.0f ? 0.0f : beta * dx[i]) + dy[i] * mask[i];
}

/* Stable form l = max(z,0) - z*y + log(1 + exp(-|z|)); with clip > 0 the
 * probability is clipped to [clip, 1-clip] (Keras): the loss then uses
 * logit of the clipped probability and the gradient is 0 (as ref_ops.h). */
void
cpu_bce_logits(struct nn_backend *be, int n, const float *z, const float *y,
    const float *w, float clip, float *loss, float *dz, float *prob)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < n; i++) {
		double zi = z[i], t = y[i], wi = w != NULL ? w[i] : 1.0;
		double p = 1.0 / (1.0 + exp(-zi)), g = p - t;

		if (clip > 0.0f && (p < clip || p > 1.0 - (double)clip)) {
			double pc = p < clip ? clip : 1.0 - (double)clip;

			zi = log(pc / (1.0 - pc));
			g = 0.0;
		}
		sum += wi * ((zi > 0.0 ? zi : 0.0) - zi * t + log1p(exp(-fabs(zi))));
		dz[i] = (float)(wi * g / n);
		prob[i] = (float)p;
	}
	loss[0] = (float)(sum / n);
}

void
cpu_softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
    const float *w, float *loss, float *dz, float *prob)
{
	double sum = 0.0;
	int i, j;

	for (i = 0; i < n; i++) {
		const float *zi = z + (size_t)i * k;
		double mx = zi[0], s = 0.0, wi = w != NULL ? w[i] : 1.0;
		int c = (int)label[i];

		for (j = 1; j < k; j++)
			mx = zi[j] > mx ? zi[j] : mx;
		for (j = 0; j < k; j++)
			s += exp(zi[j] - mx);
		for (j = 0; j < k; j++) {
			double p = exp(zi[j] - mx) / s;

			prob[(size_t)i * k + j] = (float)p;
			dz[(size_t)i * k + j] = (float)(wi * (p - (j == c)) / n);
		}
		sum += wi * (log(s) + mx - zi[c]);
	}
	loss[0] = (float)(sum / n);
}

/* Elements an optimiser's thread updates at a time. */
#define OPT_BLOCK 16384

/* Adam on elements [0, n) (see cpu_adam). */
CPU_CLONES static void
adam_block(long n, float *p, const float *g, float *m, float *v, float lr_t, float b1,
    float b2, float eps, float l2)
{
	#pragma omp simd
	for (long i = 0; i < n; i++) {
		float gi = g[i] + 2.0f * l2 * p[i];
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;

		m[i] = mi;
		v[i] = vi;
		p[i] -= lr_t * mi / (sqrt(vi) + eps);
	}
}

void
cpu_adam(struct nn_backend *be, size_t n, float *p, const float *g, float *m,
    float *v, float lr_t, float b1, float b2, float eps, float l2)
{
	long nb = (long)((n + OPT_BLOCK - 1) / OPT_BLOCK), b;

	cpu_of(be)->gen++;
	cpu_of(be)->training = 1;       /* cpu_impl.h "Weights" */
	#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (b = 0; b < nb; b++) {
		size_t i = (size_t)b * OPT_BLOCK, k = n - i < OPT_BLOCK ? n - i : OPT_BLOCK;

		adam_block((long)k, p + i, g + i, m + i, v + i, lr_t, b1, b2, eps, l2);
	}
}

void
cpu_sgd(struct nn_backend *be, size_t n, float *p, const float *g, float *v,
    float lr, float mom, int nesterov, float l2)
{
	long i;

	cpu_of(be)->gen++;
	cpu_of(be)->training = 1;       /* cpu_impl.h "Weights" */
	#pragma omp parallel for schedule(static) if (n > PAR_MIN)
	for (i = 0; i < (long)n; i++) {
		float gi = g[i] + 2.0f * l2 * p[i];

		v[i] = mom * v[i] - lr * gi;
		p[i] += nesterov ? mom * v[i] - lr * gi : v[i];
	}
}

int
cpu_nonfinite(struct nn_backend *be, const float *x, size_t n)
{
	long i;
	int bad = 0;

	#pragma omp parallel for schedule(static) reduction(|:bad) if (n > PAR_MIN)
	for (i = 0; i < (long)n; i++)
		bad |= !isfinite(x[i]);
	return bad;
}
