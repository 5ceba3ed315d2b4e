/* ref.c — the "ref" backend: the ops of ref_ops.h over float, on host
 * memory.  Single-threaded and synchronous; it is the specification the
 * other backends are tested against, and it trains the small CNN in tests.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/backend.h"

typedef float real;
#include "nn/ref/ref_ops.h"

/* Backend-private state: a double workspace for per-channel sums, grown
 * on first use to the widest layer and then reused. */
struct ref {
	double *ws;
	size_t wscap;
};

static double *
ref_ws(struct nn_backend *be, int c)
{
	struct ref *r = be->impl;

	if ((size_t)2 * c > r->wscap) {
		free(r->ws);
		r->wscap = (size_t)2 * c;
		r->ws = XNEW(double, r->wscap);
	}
	return r->ws;
}

/* ---- memory ---- */

static void *
ref_alloc(struct nn_backend *be, size_t size)
{
	return xaligned(size ? size : 64);
}

static void
ref_free(struct nn_backend *be, void *p)
{
	free(p);
}

static void
ref_copy(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	if (size)
		memmove(dst, src, size);
}

static void
ref_zero(struct nn_backend *be, void *p, size_t size)
{
	if (size)
		memset(p, 0, size);
}

static void
ref_sync(struct nn_backend *be)
{
}

static void
ref_close(struct nn_backend *be)
{
	struct ref *r;

	if (be == NULL)
		return;
	r = be->impl;
	free(r->ws);
	free(r);
	free(be);
}

static void
ref_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
          size_t n, float scale, float offset, float *dst)
{
	const uint8_t *u8 = src;
	const uint16_t *u16 = src;
	const float *f32 = src;

	for (size_t i = 0; i < n; i++) {
		float v = dt == NN_IN_U8 ? u8[i] : dt == NN_IN_U16 ? u16[i] : f32[i];
		dst[i] = v * scale + offset;
	}
}

/* ---- ops: thin wrappers over ref_ops.h ---- */

static void
conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
         const float *w, const float *bias, float *y)
{
	ref_conv_fwd(p, x, w, bias, y);
}

static void
conv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
              const float *w, float *dx, float beta)
{
	ref_conv_bwd_data(p, dy, w, dx, beta);
}

static void
conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                 const float *dy, float *dw, float *db)
{
	ref_conv_bwd_weights(p, x, dy, dw, db);
}

static void
bn_fwd_train(struct nn_backend *be, const struct nn_bn *p, const float *x,
             const float *gamma, const float *beta, float *y, float *mean,
             float *invstd, float *run_mean, float *run_var)
{
	ref_bn_fwd_train(p, x, gamma, beta, y, mean, invstd, run_mean, run_var,
	                 ref_ws(be, p->c));
}

static void
bn_apply(struct nn_backend *be, const struct nn_bn *p, const float *x,
         const float *gamma, const float *beta, const float *mean,
         const float *invstd, float *y, int relu)
{
	ref_bn_apply(p, x, gamma, beta, mean, invstd, y, relu);
}

static void
bn_fwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *x,
             const float *gamma, const float *beta, const float *run_mean,
             const float *run_var, float *y)
{
	ref_bn_fwd_infer(p, x, gamma, beta, run_mean, run_var, y);
}

static void
bn_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
       const float *dy, const float *gamma, const float *mean,
       const float *invstd, float *dx, float *dgamma, float *dbeta, float beta_acc)
{
	ref_bn_bwd(p, x, dy, gamma, mean, invstd, dx, dgamma, dbeta, beta_acc,
	           ref_ws(be, p->c));
}

static void
bn_bwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *dy,
             const float *gamma, const float *run_var, float *dx, float beta_acc)
{
	ref_bn_bwd_infer(p, dy, gamma, run_var, dx, beta_acc);
}

static void
relu_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y)
{
	ref_relu_fwd(p, x, y);
}

static void
relu_bwd(struct nn_backend *be, const struct nn_ew *p, const float *y,
         const float *dy, float *dx, float beta)
{
	ref_relu_bwd(p, y, dy, dx, beta);
}

static void
add(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta)
{
	ref_add(p, x, y, beta);
}

static void
pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y)
{
	ref_pool_fwd(p, x, y);
}

static void
pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
         const float *dy, float *dx, float beta)
{
	ref_pool_bwd(p, x, dy, dx, beta);
}

static void
gap_fwd(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y)
{
	ref_gap_fwd(p, x, y);
}

static void
gap_bwd(struct nn_backend *be, const struct nn_gap *p, const float *dy, float *dx, float beta)
{
	ref_gap_bwd(p, dy, dx, beta);
}

static void
dense_fwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
          const float *w, const float *b, float *y)
{
	ref_dense_fwd(p, x, w, b, y);
}

static void
dense_bwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
          const float *w, const float *dy, float *dx, float *dw, float *db, float beta)
{
	ref_dense_bwd(p, x, w, dy, dx, dw, db, beta);
}

static void
dropout_fwd(struct nn_backend *be, size_t n, float rate, uint64_t seed,
            uint64_t counter, const float *x, float *y, float *mask)
{
	ref_dropout_fwd(n, rate, seed, counter, x, y, mask);
}

static void
dropout_bwd(struct nn_backend *be, size_t n, const float *mask, const float *dy,
            float *dx, float beta)
{
	ref_dropout_bwd(n, mask, dy, dx, beta);
}

static void
bce_logits(struct nn_backend *be, int n, const float *z, const float *y,
           const float *w, float clip, float *loss, float *dz, float *prob)
{
	ref_bce_logits(n, z, y, w, clip, loss, dz, prob);
}

static void
softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
           const float *w, float *loss, float *dz, float *prob)
{
	ref_softmax_ce(n, k, z, label, w, loss, dz, prob);
}

static void
adam(struct nn_backend *be, size_t n, float *p, const float *g, float *m,
     float *v, float lr_t, float b1, float b2, float eps, float l2)
{
	ref_adam(n, p, g, m, v, lr_t, b1, b2, eps, l2);
}

static void
sgd(struct nn_backend *be, size_t n, float *p, const float *g, float *v,
    float lr, float mom, int nesterov, float l2)
{
	ref_sgd(n, p, g, v, lr, mom, nesterov, l2);
}

static int
nonfinite(struct nn_backend *be, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 1;
	return 0;
}

static void
dwconv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
           const float *w, const float *bias, float *y)
{
	ref_dwconv_fwd(p, x, w, bias, y);
}

static void
dwconv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                const float *w, float *dx, float beta)
{
	ref_dwconv_bwd_data(p, dy, w, dx, beta);
}

static void
dwconv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                   const float *dy, float *dw, float *db)
{
	ref_dwconv_bwd_weights(p, x, dy, dw, db);
}

static void
pad_fwd(struct nn_backend *be, const struct nn_padg *p, const float *x, float *y)
{
	ref_pad_fwd(p, x, y);
}

static void
pad_bwd(struct nn_backend *be, const struct nn_padg *p, const float *dy, float *dx,
        float beta)
{
	ref_pad_bwd(p, dy, dx, beta);
}

static void
input_ch(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t npix,
         int c, const int *order, const float *scale, const float *offset, float *dst)
{
	ref_input_ch(dt, src, npix, c, order, scale, offset, dst);
}

/* The ops table (the pattern of backend.h: one designated initializer;
 * ref's ops cannot fail, so it has no error entry). */
static const struct nn_backend ref_table = {
	.name = "ref", .alloc = ref_alloc, .free = ref_free,
	.upload = ref_copy, .download = ref_copy, .zero = ref_zero,
	.sync = ref_sync, .close = ref_close, .input = ref_input,
	.conv_fwd = conv_fwd, .conv_bwd_data = conv_bwd_data,
	.conv_bwd_weights = conv_bwd_weights,
	.bn_fwd_train = bn_fwd_train, .bn_fwd_infer = bn_fwd_infer,
	.bn_bwd = bn_bwd, .bn_bwd_infer = bn_bwd_infer,
	.relu_fwd = relu_fwd, .relu_bwd = relu_bwd, .add = add,
	.pool_fwd = pool_fwd, .pool_bwd = pool_bwd,
	.gap_fwd = gap_fwd, .gap_bwd = gap_bwd,
	.dense_fwd = dense_fwd, .dense_bwd = dense_bwd,
	.dropout_fwd = dropout_fwd, .dropout_bwd = dropout_bwd,
	.bce_logits = bce_logits, .softmax_ce = softmax_ce,
	.adam = adam, .sgd = sgd,
	.dwconv_fwd = dwconv_fwd, .dwconv_bwd_data = dwconv_bwd_data,
	.dwconv_bwd_weights = dwconv_bwd_weights, .pad_fwd = pad_fwd,
	.pad_bwd = pad_bwd, .input_ch = input_ch, .bn_apply = bn_apply, .nonfinite = nonfinite,
};

struct nn_backend *
nn_ref_open(const struct nn_backend_opts *o, char *err, size_t errlen)
{
	struct nn_backend *be = XNEW(struct nn_backend, 1);

	*be = ref_table;
	be->impl = XNEW(struct ref, 1);
	*(struct ref *)be->impl = (struct ref){ 0 };
	return be;
}
