/* dense.c — fully connected layers on cuBLAS.
 *
 * cuBLAS is column-major.  A row-major (r, k) matrix is a column-major
 * (k, r) one with leading dimension k, so with X (n, in), W (in, out),
 * Y (n, out) all row-major:
 *   Y  = X W       is  Y'(out,n)  = W'(out,in) X'(in,n)        gemm N N
 *   dX = dY W^T    is  dX'(in,n)  = W'^T dY'(out,n)            gemm T N
 *   dW = X^T dY    is  dW'(out,in) = dY'(out,n) X'^T           gemm N T
 * Bias and its gradient use the strided kernels (ew.cu, reduce.cu).
 */
#include "cuda_impl.h"

void
cu_dense_fwd(struct nn_backend *be, const struct nn_dense *p,
             const float *x, const float *w, const float *b, float *y)
{
	struct cu_state *st = cu_st(be);
	const float one = 1.0f, zero = 0.0f;

	if (p->n <= 0 || p->out <= 0)
		return;
	if (p->in <= 0) {
		CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)p->n * p->out * sizeof(float), st->stream));
	} else {
		CUBLAS_CHECK(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, p->out, p->n, p->in,
		                         &one, w, p->out, x, p->in, &zero, y, p->out));
	}
	if (b)
		cu_launch_bias(st, p->n, p->out, b, y, p->out);
}

void
cu_dense_bwd(struct nn_backend *be, const struct nn_dense *p,
             const float *x, const float *w, const float *dy,
             float *dx, float *dw, float *db, float beta)
{
	struct cu_state *st = cu_st(be);
	const float one = 1.0f, zero = 0.0f;

	if (p->in <= 0 || p->out <= 0)
		return;
	if (p->n <= 0) {
		CUDA_CHECK(cudaMemsetAsync(dw, 0, (size_t)p->in * p->out * sizeof(float), st->stream));
		if (db)
			CUDA_CHECK(cudaMemsetAsync(db, 0, (size_t)p->out * sizeof(float), st->stream));
		return;
	}
	if (dx)
		CUBLAS_CHECK(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, p->in, p->n, p->out,
		                         &one, w, p->out, dy, p->out, &beta, dx, p->in));
	CUBLAS_CHECK(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, p->out, p->in, p->n,
	                         &one, dy, p->out, x, p->in, &zero, dw, p->out));
	if (db)
		cu_launch_chan_sum(st, p->n, p->out, dy, p->out, db);
}
