// bn.cu — batch normalisation over strided NHWC views (own kernels).
//
// Not cuDNN's: its legacy BN API is deprecated in cuDNN 9, always applies
// the m/(m-1) correction to the moving variance (struct nn_bn.unbiased may
// be 0), wants gamma/beta buffers where ours may be NULL, and documents no
// support for different x/y pixel strides.  These kernels follow
// ref_ops.h: statistics are accumulated in double, in a fixed order
// (reduce.cu), so the results are deterministic.
#include "cuda_impl.h"

#define EW_LOOP(m) \
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < (m); \
	     p += (long long)gridDim.y * blockDim.y)

// Per channel: mean, invstd and the moving statistics from the partials.
__global__ void
k_bn_stats(int s, long long m, int c, const double *part, float eps, float mom,
           int unbiased, float *mean, float *invstd, float *run_mean, float *run_var)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	double a = 0, b = 0;

	if (ch >= c)
		return;
	for (int i = 0; i < s; i++) {
		a += part[(long long)i * 2 * c + ch];
		b += part[((long long)i * 2 + 1) * c + ch];
	}
	double mu = a / m, var = b / m - mu * mu;
	if (var < 0)
		var = 0;
	double uvar = unbiased && m > 1 ? var * m / (m - 1) : var;
	mean[ch] = (float)mu;
	invstd[ch] = (float)(1 / sqrt(var + eps));
	run_mean[ch] = mom * run_mean[ch] + (1 - mom) * (float)mu;
	run_var[ch] = mom * run_var[ch] + (1 - mom) * (float)uvar;
}

// y = (x - mean)*scale*gamma + beta, scale per channel (invstd or rstd).
__global__ void
k_bn_norm(long long m, int c, const float *x, int x_ld, float *y, int y_ld,
          const float *mean, const float *invstd, const float *run_var, float eps,
          const float *gamma, const float *beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	float mu = mean[ch];
	float is = invstd ? invstd[ch] : (float)(1 / sqrt((double)run_var[ch] + eps));
	float g = gamma ? gamma[ch] : 1.0f, bt = beta ? beta[ch] : 0.0f;
	EW_LOOP(m)
		y[p * y_ld + ch] = (x[p * x_ld + ch] - mu) * is * g + bt;
}

extern "C" void
cu_bn_fwd_train(struct nn_backend *be, const struct nn_bn *p,
                const float *x, const float *gamma, const float *beta,
                float *y, float *mean, float *invstd, float *run_mean, float *run_var)
{
	struct cu_state *st = cu_st(be);
	double *part;
	dim3 g, b;
	int s;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	s = cu_launch_chan_partial(st, 0, p->m, p->c, x, p->x_ld, NULL, 0, NULL, &part);
	k_bn_stats<<<(p->c + 127) / 128, 128, 0, st->stream>>>(s, p->m, p->c, part, p->eps,
		p->momentum, p->unbiased, mean, invstd, run_mean, run_var);
	CUDA_LAUNCHED(st);
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_bn_norm<<<g, b, 0, st->stream>>>(p->m, p->c, x, p->x_ld, y, p->y_ld, mean, invstd,
		NULL, p->eps, gamma, beta);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_bn_fwd_infer(struct nn_backend *be, const struct nn_bn *p,
                const float *x, const float *gamma, const float *beta,
                const float *run_mean, const float *run_var, float *y)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_bn_norm<<<g, b, 0, st->stream>>>(p->m, p->c, x, p->x_ld, y, p->y_ld, run_mean, NULL,
		run_var, p->eps, gamma, beta);
	CUDA_LAUNCHED(st);
}

// Per channel: dgamma, dbeta and the coefficients of dx = A*(dy - B - (x-mean)*C)
// (coef[ch], coef[c+ch], coef[2c+ch]).
__global__ void
k_bn_bwd_coef(int s, long long m, int c, const double *part, const float *gamma,
              const float *invstd, float *dgamma, float *dbeta, float *coef)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	double sdy = 0, sdyxm = 0;

	if (ch >= c)
		return;
	for (int i = 0; i < s; i++) {
		sdy += part[(long long)i * 2 * c + ch];
		sdyxm += part[((long long)i * 2 + 1) * c + ch];
	}
	double is = invstd[ch], sdyx = sdyxm * is;      // sum dy*xhat
	if (dgamma)
		dgamma[ch] = (float)sdyx;
	if (dbeta)
		dbeta[ch] = (float)sdy;
	coef[ch] = (gamma ? gamma[ch] : 1.0f) * (float)is;
	coef[c + ch] = (float)(sdy / m);
	coef[2 * c + ch] = (float)(sdyx / m * is);
}

// dx and x share x_ld; dy has y_ld.
__global__ void
k_bn_bwd_dx(long long m, int c, const float *x, int x_ld, const float *dy, int y_ld,
            const float *mean, const float *coef, float *dx, float beta_acc)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	float mu = mean[ch], A = coef[ch], B = coef[c + ch], C = coef[2 * c + ch];
	EW_LOOP(m) {
		float v = A * (dy[p * y_ld + ch] - B - (x[p * x_ld + ch] - mu) * C);
		float *o = &dx[p * x_ld + ch];
		*o = beta_acc != 0.0f ? beta_acc * *o + v : v;
	}
}

extern "C" void
cu_bn_bwd(struct nn_backend *be, const struct nn_bn *p,
          const float *x, const float *dy, const float *gamma,
          const float *mean, const float *invstd,
          float *dx, float *dgamma, float *dbeta, float beta_acc)
{
	struct cu_state *st = cu_st(be);
	double *part;
	float *coef;
	dim3 g, b;
	int s;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	s = cu_launch_chan_partial(st, 1, p->m, p->c, x, p->x_ld, dy, p->y_ld, mean, &part);
	coef = (float *)cu_scratch(st, CU_COEF, (size_t)3 * p->c * sizeof(float));
	k_bn_bwd_coef<<<(p->c + 127) / 128, 128, 0, st->stream>>>(s, p->m, p->c, part, gamma,
		invstd, dgamma, dbeta, coef);
	CUDA_LAUNCHED(st);
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_bn_bwd_dx<<<g, b, 0, st->stream>>>(p->m, p->c, x, p->x_ld, dy, p->y_ld, mean, coef,
		dx, beta_acc);
	CUDA_LAUNCHED(st);
	cu_launch_finite_check(st, dgamma, dgamma ? p->c : 0);
	cu_launch_finite_check(st, dbeta, dbeta ? p->c : 0);
}

__global__ void
k_bn_bwd_infer(long long m, int c, const float *dy, int y_ld, const float *gamma,
               const float *run_var, float eps, float *dx, int x_ld, float beta_acc)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	float rstd = (float)(1 / sqrt((double)run_var[ch] + eps));
	float gm = gamma ? gamma[ch] : 1.0f;
	EW_LOOP(m) {
		float v = dy[p * y_ld + ch] * gm * rstd;
		float *o = &dx[p * x_ld + ch];
		*o = beta_acc != 0.0f ? beta_acc * *o + v : v;
	}
}

extern "C" void
cu_bn_bwd_infer(struct nn_backend *be, const struct nn_bn *p,
                const float *dy, const float *gamma, const float *run_var,
                float *dx, float beta_acc)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_bn_bwd_infer<<<g, b, 0, st->stream>>>(p->m, p->c, dy, p->y_ld, gamma, run_var, p->eps,
		dx, p->x_ld, beta_acc);
	CUDA_LAUNCHED(st);
}
