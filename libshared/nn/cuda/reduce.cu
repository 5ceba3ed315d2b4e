// reduce.cu — per-channel sums over the pixels of a strided NHWC view, in
// double and in a fixed order (so results are bit-reproducible and need no
// atomics): the pixels are cut into splits, a 32 x 8 block sums one split
// of 32 channels, and a second kernel adds the splits in order.
// Used by batch norm (statistics, backward) and by the bias gradients.
#include "cuda_impl.h"

// mode 0: a += x, b += x*x;  mode 1: a += dy, b += dy*(x - mean);
// mode 2: a += x only.  part[(split*2 + j)*c + ch].
template <int MODE>
__global__ void
k_chan_partial(long long m, int c, long long rows, const float *x, int x_ld,
               const float *dy, int dy_ld, const float *mean, double *part)
{
	__shared__ double sa[8][33], sb[8][33];
	int tx = threadIdx.x, ty = threadIdx.y;
	int ch = blockIdx.x * 32 + tx;
	long long r0 = (long long)blockIdx.y * rows;
	long long r1 = r0 + rows < m ? r0 + rows : m;
	double a = 0, b = 0;

	if (ch < c) {
		float mu = MODE == 1 ? mean[ch] : 0.0f;
		for (long long r = r0 + ty; r < r1; r += 8) {
			float v = x[r * x_ld + ch];
			if (MODE == 0) {
				a += v;
				b += (double)v * v;
			} else if (MODE == 1) {
				float g = dy[r * dy_ld + ch];
				a += g;
				b += (double)g * (double)(v - mu);
			} else {
				a += v;
			}
		}
	}
	sa[ty][tx] = a;
	sb[ty][tx] = b;
	__syncthreads();
	if (ty != 0 || ch >= c)
		return;
	for (int i = 1; i < 8; i++) {
		a += sa[i][tx];
		b += sb[i][tx];
	}
	part[((long long)blockIdx.y * 2) * c + ch] = a;
	part[((long long)blockIdx.y * 2 + 1) * c + ch] = b;
}

// Number of splits: enough blocks to fill the device, at least 64 rows each.
static int
nsplits(const struct cu_state *st, long long m, int c, long long *rowsP)
{
	long long gx = (c + 31) / 32;
	long long want = (long long)st->sm_count * 8 / gx;
	long long s, rows;

	if (want < 1)
		want = 1;
	s = (m + 63) / 64;
	if (s > want)
		s = want;
	if (s > 4096)
		s = 4096;
	if (s < 1)
		s = 1;
	rows = (m + s - 1) / s;
	if (rows < 1)
		rows = 1;
	*rowsP = rows;
	return (int)((m + rows - 1) / rows > 0 ? (m + rows - 1) / rows : 1);
}

extern "C" int
cu_launch_chan_partial(struct cu_state *st, int mode, long long m, int c,
                       const float *x, int x_ld, const float *dy, int dy_ld,
                       const float *mean, double **partP)
{
	long long rows;
	int s = nsplits(st, m, c, &rows);
	double *part = (double *)cu_scratch(st, CU_RED, (size_t)s * 2 * c * sizeof(double));
	dim3 grid((c + 31) / 32, s, 1), block(32, 8, 1);

	if (mode == 0)
		k_chan_partial<0><<<grid, block, 0, st->stream>>>(m, c, rows, x, x_ld, dy, dy_ld, mean, part);
	else if (mode == 1)
		k_chan_partial<1><<<grid, block, 0, st->stream>>>(m, c, rows, x, x_ld, dy, dy_ld, mean, part);
	else
		k_chan_partial<2><<<grid, block, 0, st->stream>>>(m, c, rows, x, x_ld, dy, dy_ld, mean, part);
	CUDA_LAUNCHED(st);
	*partP = part;
	return s;
}

__global__ void
k_chan_final_sum(int s, int c, const double *part, float *out)
{
	int ch = blockIdx.x * blockDim.x + threadIdx.x;
	double a = 0;

	if (ch >= c)
		return;
	for (int i = 0; i < s; i++)
		a += part[(long long)i * 2 * c + ch];
	out[ch] = (float)a;
}

extern "C" void
cu_launch_chan_sum(struct cu_state *st, long long m, int c, const float *x, int ld, float *out)
{
	double *part;
	int s;

	if (c <= 0)
		return;
	if (m <= 0) {
		CUDA_CHECK(st, cudaMemsetAsync(out, 0, (size_t)c * sizeof(float), st->stream));
		return;
	}
	s = cu_launch_chan_partial(st, 2, m, c, x, ld, NULL, 0, NULL, &part);
	k_chan_final_sum<<<(c + 127) / 128, 128, 0, st->stream>>>(s, c, part, out);
	CUDA_LAUNCHED(st);
}
