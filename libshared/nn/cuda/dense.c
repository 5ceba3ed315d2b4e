/* dense.c — fully connected layers on cuBLAS.
 *
 * cuBLAS is column-major.  A row-major (r, k) matrix is a column-major
 * (k, r) one with leading dimension k, so with X (n, in), W (in, out),
 * Y (n, out) all row-major:
 *   Y  = X W       is  Y'(out,n)  = W'(out,in) X'(in,n)        gemm N N
 *   dX = dY W^T    is  dX'(in,n)  = W'^T dY'(out,n)            gemm T N
 *   dW = X^T dY    is  dW'(out,in) = dY'(out,n) X'^T           gemm N T
 * bf16/fp16: cublasGemmEx on half copies (x and dy cast per call, W from
 * the weight cache) with fp32 outputs and fp32 accumulation, so beta and
 * the fp32 gradients come for free.  Bias and its gradient use the strided
 * kernels (ew.cu, reduce.cu).
 */
#include "cuda_impl.h"

static const float one = 1.0f, zero = 0.0f;

/* A half copy of the n x k row-major fp32 matrix a, in scratch slot. */
static const void *
half_copy(struct cu_state *st, enum cu_slot slot, const float *a, int n, int k)
{
	void *h = cu_scratch(st, slot, (size_t)n * k * 2);

	cu_launch_convert_w(st, cu_gemm_dtype(st), a, h, 1, 1, n, k, 0);
	return h;
}

/* C (m x n, column-major, fp32) = alpha op(A) op(B) + beta C over half A, B. */
static void
gemm_half(struct cu_state *st, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
          int k, const void *a, int lda, const void *b, int ldb, const float *beta,
          float *c, int ldc)
{
	cudaDataType_t t = cu_gemm_dtype(st) == CU_BF16 ? CUDA_R_16BF : CUDA_R_16F;

	CUBLAS_CHECK(st, cublasGemmEx(st->blas, ta, tb, m, n, k, &one, a, t, lda, b, t, ldb, beta,
	                          c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void
cu_dense_fwd(struct nn_backend *be, const struct nn_dense *p,
             const float *x, const float *w, const float *b, float *y)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->out <= 0)
		return;
	if (p->in <= 0) {
		CUDA_CHECK(st, cudaMemsetAsync(y, 0, (size_t)p->n * p->out * sizeof(float), st->stream));
	} else if (cu_half(st)) {
		const void *wh = cu_weights(st, cu_gemm_dtype(st), w, 1, 1, p->in, p->out, 0);
		const void *xh = half_copy(st, CU_XPACK, x, p->n, p->in);
		gemm_half(st, CUBLAS_OP_N, CUBLAS_OP_N, p->out, p->n, p->in, wh, p->out, xh, p->in,
		          &zero, y, p->out);
	} else {
		CUBLAS_CHECK(st, cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, p->out, p->n, p->in,
		                         &one, w, p->out, x, p->in, &zero, y, p->out));
	}
	if (b)
		cu_launch_bias(st, p->n, p->out, b, y, p->out);
}

static void
bwd_half(struct cu_state *st, const struct nn_dense *p, const float *x, const float *w,
         const float *dy, float *dx, float *dw, float beta)
{
	const void *dyh = half_copy(st, CU_YPACK, dy, p->n, p->out);
	const void *xh = half_copy(st, CU_XPACK, x, p->n, p->in);

	if (dx) {
		const void *wh = cu_weights(st, cu_gemm_dtype(st), w, 1, 1, p->in, p->out, 0);
		gemm_half(st, CUBLAS_OP_T, CUBLAS_OP_N, p->in, p->n, p->out, wh, p->out, dyh, p->out,
		          &beta, dx, p->in);
	}
	gemm_half(st, CUBLAS_OP_N, CUBLAS_OP_T, p->out, p->in, p->n, dyh, p->out, xh, p->in,
	          &zero, dw, p->out);
}

void
cu_dense_bwd(struct nn_backend *be, const struct nn_dense *p,
             const float *x, const float *w, const float *dy,
             float *dx, float *dw, float *db, float beta)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	if (p->in <= 0 || p->out <= 0)
		return;
	if (p->n <= 0) {
		CUDA_CHECK(st, cudaMemsetAsync(dw, 0, (size_t)p->in * p->out * sizeof(float), st->stream));
		if (db)
			CUDA_CHECK(st, cudaMemsetAsync(db, 0, (size_t)p->out * sizeof(float), st->stream));
		return;
	}
	if (cu_half(st)) {
		bwd_half(st, p, x, w, dy, dx, dw, beta);
	} else {
		if (dx)
			CUBLAS_CHECK(st, cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, p->in, p->n, p->out,
			                         &one, w, p->out, dy, p->out, &beta, dx, p->in));
		CUBLAS_CHECK(st, cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, p->out, p->in, p->n,
		                         &one, dy, p->out, x, p->in, &zero, dw, p->out));
	}
	if (db)
		cu_launch_chan_sum(st, p->n, p->out, dy, p->out, db);
	cu_launch_finite_check(st, dw, (size_t)p->in * p->out);
	cu_launch_finite_check(st, db, db ? (size_t)p->out : 0);
}
