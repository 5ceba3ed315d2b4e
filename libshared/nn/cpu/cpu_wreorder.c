/* cpu_wreorder.c — the weight reorders of the "cpu" backend's
 * convolutions without oneDNN's reorder primitive: HWIO fp32 -> the
 * primitive's blocked layout (fp32 or bf16) for forward and backward
 * data, and the blocked fp32 weight gradient -> HWIO for backward weights
 * (see cpu_impl.h "Fast weight reorders").
 *
 * A blocked layout here is oneDNN's blocking descriptor of {oc, ic, kh,
 * kw}: outer strides per dimension and inner blocks over oc and ic only,
 * at most two per dimension (16b16a, 16a16b, 8b16a2b, 8a16b2a, 8b8a, ...).
 * The work is cut into (kh, kw, oc block, ic block) tiles: a tile reads
 * up to bi rows of bo contiguous floats of HWIO (one row per ic) and
 * writes one contiguous block; OpenMP over strips of tiles (kh, kw, ic
 * block), each strip taking its oc blocks in order.  AVX-512 kernels do
 * the 16x16 tiles of the four layouts oneDNN picks on AVX-512: 16b16a
 * (copies of HWIO rows, row by row: one read stream, where oneDNN's
 * reorder reads 16 rows at a time, 2x slower), 8b16a2b (bf16, pairs of
 * rows interleaved, a pair at a time), 16a16b and 8a16b2a (a 16x16
 * transpose, then for bf16 pairs interleaved; the next tile's rows
 * prefetched).  The weight gradient goes back to HWIO with streaming
 * stores (the optimiser reads it after the whole backward pass; without
 * them the copy took 1.6x oneDNN's time, with them 0.8x).  Only those
 * run in the backend (cpu_wre_plan_md's CPU_WRE_FAST); the plain-C
 * kernels take any layout plan_inner describes and are the readable
 * specification the tests also check against oneDNN, but they run 2.6x
 * (fp32) to 5x (bf16) slower than oneDNN's jit reorders (InceptionV3,
 * test_nn_wreorder's bench), so a layout without an AVX-512 kernel, or a
 * CPU without AVX-512, keeps oneDNN's reorder.
 * Padding (oc or ic beyond the kernel's, up to the padded dims) is written
 * as zeros, as oneDNN's reorder writes it.  bf16 rounding is the
 * instruction's (vcvtneps2bf16), in C the same function: nearest even,
 * denormals to zero of the same sign, NaN quietened (bit 6 set), Inf kept.
 */
#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>

#include "envflag.h"
#include "nn/cpu/cpu_impl.h"

/* The bf16 of f as vcvtneps2bf16 rounds it (and oneDNN's C conversion). */
static uint16_t
bf16_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	if ((u & 0x7f800000u) == 0)                     /* zero, denormal */
		return (uint16_t)((u >> 16) & 0x8000u);
	if ((u & 0x7f800000u) == 0x7f800000u) {         /* Inf, NaN */
		if (u & 0x007fffffu)
			return (uint16_t)((u >> 16) | 0x40u);
		return (uint16_t)(u >> 16);
	}
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Fills d's per-dimension block description from the inner blocks of md:
 * 0, or -1 when they are not of the handled kind. */
static int
plan_inner(struct cpu_wplan *d, const dnnl_memory_desc_t *md)
{
	const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
	int n[2] = { 0, 0 };
	long st = 1;

	for (int k = 0; k < 2; k++) {
		d->blk[k] = 1;
		d->split[k] = 1;
		d->hi[k] = 0;
		d->lo[k] = 0;
	}
	for (int k = b->inner_nblks - 1; k >= 0; k--) {
		int x = (int)b->inner_idxs[k], bs = (int)b->inner_blks[k];

		if (x > 1 || bs < 1 || n[x] == 2)
			return -1;
		if (n[x]++ == 0) {      /* the dimension's innermost block */
			d->split[x] = bs;
			d->lo[x] = st;
		} else {
			d->hi[x] = st;
		}
		d->blk[x] *= bs;
		st *= bs;
	}
	for (int k = 0; k < 2; k++)
		if (d->blk[k] > 64)
			return -1;
	d->blksize = st;
	return 0;
}

/* The 16x16 kernels' name for d's inner blocks, or CPU_WPAT_C. */
static int
plan_pattern(const struct cpu_wplan *d)
{
	if (d->blk[0] != 16 || d->blk[1] != 16)
		return CPU_WPAT_C;
	if (d->split[0] == 16 && d->lo[0] == 1 && d->split[1] == 16 && d->lo[1] == 16)
		return CPU_WPAT_IO;
	if (d->split[0] == 16 && d->lo[0] == 16 && d->split[1] == 16 && d->lo[1] == 1)
		return CPU_WPAT_OI;
	if (d->split[0] == 16 && d->lo[0] == 2 && d->split[1] == 2 && d->lo[1] == 1 &&
	    d->hi[1] == 32)
		return CPU_WPAT_IO2;
	if (d->split[0] == 2 && d->lo[0] == 1 && d->hi[0] == 32 && d->split[1] == 16 &&
	    d->lo[1] == 2)
		return CPU_WPAT_OI2;
	return CPU_WPAT_C;
}

/* Elements from the first of d's blocked layout to one past its last. */
static long
plan_extent(const struct cpu_wplan *d, int oc, int ic, int kh, int kw)
{
	long nob = (oc + d->blk[0] - 1) / d->blk[0], nib = (ic + d->blk[1] - 1) / d->blk[1];

	return (nob - 1) * d->st[0] + (nib - 1) * d->st[1] + (long)(kh - 1) * d->st[2] +
	    (long)(kw - 1) * d->st[3] + d->blksize;
}

/* Does this CPU run the AVX-512 kernel of pattern pat (bf16: with
 * AVX512_BF16)? */
static int
plan_simd(int pat, int bf16)
{
	if (pat == CPU_WPAT_C)
		return 0;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
		return 0;
	if (bf16)
		return __builtin_cpu_supports("avx512bf16") &&
		    (pat == CPU_WPAT_IO2 || pat == CPU_WPAT_OI2);
	return pat == CPU_WPAT_IO || pat == CPU_WPAT_OI;
}

int
cpu_wre_plan_md(struct cpu_wplan *d, const dnnl_memory_desc_t *md, int back, int oc, int ic,
    int kh, int kw)
{
	const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
	const dnnl_dim_t want[4] = { oc, ic, kh, kw };

	memset(d, 0, sizeof *d);
	d->kind = CPU_WRE_ONEDNN;
	if (md->ndims != 4 || md->format_kind != dnnl_blocked || md->offset0 != 0 ||
	    md->extra.flags != 0 || plan_inner(d, md) < 0)
		return 0;
	if (md->data_type != dnnl_f32 && (back || md->data_type != dnnl_bf16))
		return 0;
	for (int k = 0; k < 4; k++) {
		dnnl_dim_t bs = k < 2 ? d->blk[k] : 1;

		if (md->dims[k] != want[k] || md->padded_offsets[k] != 0 ||
		    md->padded_dims[k] != (want[k] + bs - 1) / bs * bs)
			return 0;
		d->st[k] = (long)b->strides[k];
	}
	if (plan_extent(d, oc, ic, kh, kw) > (long)(dnnl_memory_desc_get_size(md) /
	    (md->data_type == dnnl_bf16 ? 2 : 4)))
		return 0;       /* strides reaching past the buffer: not ours */
	d->back = back;
	d->bf16 = md->data_type == dnnl_bf16;
	d->o = oc;
	d->i = ic;
	d->kh = kh;
	d->kw = kw;
	d->pat = plan_pattern(d);
	d->simd = plan_simd(d->pat, d->bf16);
	if (d->simd)
		d->kind = CPU_WRE_FAST;
	return 1;
}

void
cpu_wre_plan(struct cpu_entry *e)
{
	const int *v = e->key.v;

	if (!env_flag("RADPIPE_CPU_FAST_REORDER", 1) || e->wre.prim == NULL) {
		memset(&e->wp, 0, sizeof e->wp);
		e->wp.kind = CPU_WRE_ONEDNN;
		return;
	}
	/* key v: n ih iw ic oh ow oc kh kw ... (cpu_conv.c conv_entry) */
	cpu_wre_plan_md(&e->wp, &e->wmd, e->key.op == CPU_CONV_BWD_WEIGHTS, v[6], v[3], v[7],
	    v[8]);
}

/* Element offset in the blocked layout of d of the tile at (h, w, ob, ib). */
static size_t
tile_base(const struct cpu_wplan *d, int h, int w, int ob, int ib)
{
	return (size_t)ob * d->st[0] + (size_t)ib * d->st[1] + (size_t)h * d->st[2] +
	    (size_t)w * d->st[3];
}

/* Offset inside a block of index x of dimension k (0: oc, 1: ic). */
static inline long
in_block(const struct cpu_wplan *d, int k, int x)
{
	return x / d->split[k] * d->hi[k] + x % d->split[k] * d->lo[k];
}

/* Plain C, any blocks: the tiles (h, w, every oc block, ib) of HWIO src
 * into dst. */
static void
fwd_strip_c(const struct cpu_wplan *d, const float *src, void *dst, int h, int w, int ib)
{
	long oo[64];
	int nob = (d->o + d->blk[0] - 1) / d->blk[0], i0 = ib * d->blk[1];

	for (int o = 0; o < d->blk[0]; o++)
		oo[o] = in_block(d, 0, o);
	for (int ob = 0; ob < nob; ob++) {
		size_t base = tile_base(d, h, w, ob, ib);
		int o0 = ob * d->blk[0];
		int no = d->o - o0 < d->blk[0] ? d->o - o0 : d->blk[0];

		for (int i = 0; i < d->blk[1]; i++) {
			const float *row = src + ((size_t)(h * d->kw + w) * d->i + i0 + i) * d->o +
			    o0;
			size_t at = base + in_block(d, 1, i);
			int n = i0 + i < d->i ? no : 0;

			for (int o = 0; o < d->blk[0]; o++) {
				float v = o < n ? row[o] : 0.0f;

				if (d->bf16)
					((uint16_t *)dst)[at + oo[o]] = bf16_of(v);
				else
					((float *)dst)[at + oo[o]] = v;
			}
		}
	}
}

/* Plain C, any blocks: the tiles (h, w, every oc block, ib) of the
 * blocked src into HWIO dst (padding not read). */
static void
back_strip_c(const struct cpu_wplan *d, const float *src, float *dst, int h, int w, int ib)
{
	long oo[64];
	int nob = (d->o + d->blk[0] - 1) / d->blk[0], i0 = ib * d->blk[1];
	int ni = d->i - i0 < d->blk[1] ? d->i - i0 : d->blk[1];

	for (int o = 0; o < d->blk[0]; o++)
		oo[o] = in_block(d, 0, o);
	for (int ob = 0; ob < nob; ob++) {
		size_t base = tile_base(d, h, w, ob, ib);
		int o0 = ob * d->blk[0];
		int no = d->o - o0 < d->blk[0] ? d->o - o0 : d->blk[0];

		for (int i = 0; i < ni; i++) {
			float *row = dst + ((size_t)(h * d->kw + w) * d->i + i0 + i) * d->o + o0;
			const float *q = src + base + in_block(d, 1, i);

			for (int o = 0; o < no; o++)
				row[o] = q[oo[o]];
		}
	}
}

/* --- AVX-512: 16x16 tiles --- */

/* vpermw indices interleaving two rows of 16 bf16 (a in 0-15, b in
 * 16-31): a0 b0 a1 b1 ... */
static const uint16_t ix[32] = {
	0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
	8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31,
};

#define AVX512 __attribute__((target("avx512f,avx512bw")))
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* r[k] <- 16 o of HWIO row i0+k (zeros beyond o or ic). */
AVX512 static void
load_rows(const struct cpu_wplan *d, const float *src, int h, int w, int o0, int i0, __m512 *r)
{
	int no = d->o - o0 < 16 ? d->o - o0 : 16;
	__mmask16 m = (__mmask16)((1u << no) - 1);
	const float *p = src + ((size_t)(h * d->kw + w) * d->i + i0) * d->o + o0;

	if (no == 16 && i0 + 16 <= d->i) {      /* unmasked: faster on AMD */
		for (int k = 0; k < 16; k++) {
			r[k] = _mm512_loadu_ps(p + (size_t)k * d->o);
			_mm_prefetch((const char *)(p + (size_t)k * d->o + 64), _MM_HINT_T0);
		}
		return;
	}
	for (int k = 0; k < 16; k++)
		r[k] = i0 + k < d->i ? _mm512_maskz_loadu_ps(m, p + (size_t)k * d->o) :
		    _mm512_setzero_ps();
}

/* The 16x16 transpose: r[k][j] -> r[j][k]. */
AVX512 static void
transpose16(__m512 *r)
{
	__m512 a[16], b[16];

	for (int k = 0; k < 8; k++) {
		a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
		a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
	}
	for (int m = 0; m < 4; m++) {
		__m512d x = _mm512_castps_pd(a[4 * m]), y = _mm512_castps_pd(a[4 * m + 1]);
		__m512d z = _mm512_castps_pd(a[4 * m + 2]), t = _mm512_castps_pd(a[4 * m + 3]);

		b[4 * m] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, z));
		b[4 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, z));
		b[4 * m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(y, t));
		b[4 * m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(y, t));
	}
	for (int j = 0; j < 4; j++) {
		__m512 c0 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x44);
		__m512 c1 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xee);
		__m512 c2 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x44);
		__m512 c3 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xee);

		r[j] = _mm512_shuffle_f32x4(c0, c2, 0x88);
		r[4 + j] = _mm512_shuffle_f32x4(c0, c2, 0xdd);
		r[8 + j] = _mm512_shuffle_f32x4(c1, c3, 0x88);
		r[12 + j] = _mm512_shuffle_f32x4(c1, c3, 0xdd);
	}
}

/* fp32 16b16a / 16a16b tile. */
AVX512 static inline void
fwd_tile_f32(const struct cpu_wplan *d, const float *src, float *dst, int h, int w, int ob,
    int ib)
{
	__m512 r[16];
	float *q = dst + tile_base(d, h, w, ob, ib);

	load_rows(d, src, h, w, ob * 16, ib * 16, r);
	if (d->pat == CPU_WPAT_OI)
		transpose16(r);
	for (int k = 0; k < 16; k++)
		_mm512_storeu_ps(q + 16 * k, r[k]);
}

/* bf16 8b16a2b / 8a16b2a tile: pairs of rows (ic for 8b16a2b, oc after
 * the transpose for 8a16b2a) rounded and interleaved element by element. */
AVX512BF16 static inline void
fwd_tile_bf16(const struct cpu_wplan *d, const float *src, uint16_t *dst, int h, int w,
    int ob, int ib)
{
	__m512i idx = _mm512_loadu_si512(ix);
	__m512 r[16];
	uint16_t *q = dst + tile_base(d, h, w, ob, ib);

	load_rows(d, src, h, w, ob * 16, ib * 16, r);
	if (d->pat == CPU_WPAT_OI2)
		transpose16(r);
	for (int k = 0; k < 8; k++) {
		__m512i v = (__m512i)_mm512_cvtne2ps_pbh(r[2 * k + 1], r[2 * k]);

		_mm512_storeu_si512(q + 32 * k, _mm512_permutexvar_epi16(idx, v));
	}
}

/* fp32 16b16a / 16a16b tile back to HWIO. */
AVX512 static inline void
back_tile_f32(const struct cpu_wplan *d, const float *src, float *dst, int h, int w, int ob,
    int ib)
{
	__m512 r[16];
	const float *q = src + tile_base(d, h, w, ob, ib);
	int o0 = ob * 16, i0 = ib * 16;
	int no = d->o - o0 < 16 ? d->o - o0 : 16;
	__mmask16 m = (__mmask16)((1u << no) - 1);
	float *p = dst + ((size_t)(h * d->kw + w) * d->i + i0) * d->o + o0;

	for (int k = 0; k < 16; k++)
		r[k] = _mm512_loadu_ps(q + 16 * k);
	if (d->pat == CPU_WPAT_OI)
		transpose16(r);
	if (no == 16 && d->nt) {
		for (int k = 0; k < 16 && i0 + k < d->i; k++)
			_mm512_stream_ps(p + (size_t)k * d->o, r[k]);
		return;
	}
	if (no == 16) {
		for (int k = 0; k < 16 && i0 + k < d->i; k++)
			_mm512_storeu_ps(p + (size_t)k * d->o, r[k]);
		return;
	}
	for (int k = 0; k < 16 && i0 + k < d->i; k++)
		_mm512_mask_storeu_ps(p + (size_t)k * d->o, m, r[k]);
}

/* The tiles (h, w, every oc block, ib) by AVX-512: fp32 forward. */
AVX512 static void
fwd_strip_f32(const struct cpu_wplan *d, const float *src, float *dst, int h, int w, int ib)
{
	if (d->pat == CPU_WPAT_IO) {    /* row by row: one read stream */
		int nob = (d->o + 15) / 16, i0 = ib * 16;
		const float *p = src + ((size_t)(h * d->kw + w) * d->i + i0) * d->o;
		float *q = dst + tile_base(d, h, w, 0, ib);

		for (int k = 0; k < 16; k++, p += d->o) {
			for (int ob = 0; ob < nob; ob++) {
				int no = d->o - ob * 16 < 16 ? d->o - ob * 16 : 16;
				__m512 v = i0 + k >= d->i ? _mm512_setzero_ps() : no == 16 ?
				    _mm512_loadu_ps(p + ob * 16) :
				    _mm512_maskz_loadu_ps((__mmask16)((1u << no) - 1), p + ob * 16);

				_mm512_storeu_ps(q + ob * d->st[0] + 16 * k, v);
			}
		}
		return;
	}
	for (int ob = 0; ob * 16 < d->o; ob++)
		fwd_tile_f32(d, src, dst, h, w, ob, ib);
}

/* bf16 forward. */
AVX512BF16 static void
fwd_strip_bf16(const struct cpu_wplan *d, const float *src, uint16_t *dst, int h, int w, int ib)
{
	if (d->pat == CPU_WPAT_IO2) {   /* pairs of rows: two read streams */
		__m512i idx = _mm512_loadu_si512(ix);
		int nob = (d->o + 15) / 16, i0 = ib * 16;
		const float *p = src + ((size_t)(h * d->kw + w) * d->i + i0) * d->o;
		uint16_t *q = dst + tile_base(d, h, w, 0, ib);

		for (int k = 0; k < 16; k += 2, p += 2 * (size_t)d->o) {
			for (int ob = 0; ob < nob; ob++) {
				int no = d->o - ob * 16 < 16 ? d->o - ob * 16 : 16;
				__mmask16 m = (__mmask16)((1u << no) - 1);
				__m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();

				if (no == 16 && i0 + k + 1 < d->i) {    /* unmasked: faster on AMD */
					a = _mm512_loadu_ps(p + ob * 16);
					b = _mm512_loadu_ps(p + d->o + ob * 16);
				} else {
					if (i0 + k < d->i)
						a = _mm512_maskz_loadu_ps(m, p + ob * 16);
					if (i0 + k + 1 < d->i)
						b = _mm512_maskz_loadu_ps(m, p + d->o + ob * 16);
				}
				__m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);

				_mm512_storeu_si512(q + ob * d->st[0] + 16 * k,
				    _mm512_permutexvar_epi16(idx, v));
			}
		}
		return;
	}
	for (int ob = 0; ob * 16 < d->o; ob++)
		fwd_tile_bf16(d, src, dst, h, w, ob, ib);
}

/* fp32 back to HWIO. */
AVX512 static void
back_strip_f32(const struct cpu_wplan *d, const float *src, float *dst, int h, int w, int ib)
{
	if (d->pat == CPU_WPAT_IO) {    /* row by row: one write stream */
		int nob = (d->o + 15) / 16, i0 = ib * 16;
		float *p = dst + ((size_t)(h * d->kw + w) * d->i + i0) * d->o;
		const float *q = src + tile_base(d, h, w, 0, ib);

		for (int k = 0; k < 16 && i0 + k < d->i; k++, p += d->o) {
			for (int ob = 0; ob < nob; ob++) {
				int no = d->o - ob * 16 < 16 ? d->o - ob * 16 : 16;
				__m512 v = _mm512_loadu_ps(q + ob * d->st[0] + 16 * k);

				if (no < 16)
					_mm512_mask_storeu_ps(p + ob * 16, (__mmask16)((1u << no) - 1), v);
				else if (d->nt)
					_mm512_stream_ps(p + ob * 16, v);
				else
					_mm512_storeu_ps(p + ob * 16, v);
			}
		}
		if (d->nt)
			_mm_sfence();
		return;
	}
	for (int ob = 0; ob * 16 < d->o; ob++)
		back_tile_f32(d, src, dst, h, w, ob, ib);
	if (d->nt)
		_mm_sfence();   /* this thread's streaming stores, before the barrier */
}

/* The tiles (h, w, every oc block, ib) of d, src -> dst, by the kernel d
 * chose. */
static void
run_strip(const struct cpu_wplan *d, const void *src, void *dst, int h, int w, int ib)
{
	if (!d->simd) {
		if (d->back)
			back_strip_c(d, src, dst, h, w, ib);
		else
			fwd_strip_c(d, src, dst, h, w, ib);
	} else if (d->back) {
		back_strip_f32(d, src, dst, h, w, ib);
	} else if (d->bf16) {
		fwd_strip_bf16(d, src, dst, h, w, ib);
	} else {
		fwd_strip_f32(d, src, dst, h, w, ib);
	}
}

/* Strips of one (h, w, ic block) each, OpenMP over them (reads of a strip:
 * up to 16 whole HWIO rows, in order). */
void
cpu_wre_exec(const struct cpu_wplan *d0, const void *src, void *dst)
{
	struct cpu_wplan dd = *d0, *d = &dd;

	d->nt = d->back && d->simd && d->o % 16 == 0 && ((uintptr_t)dst & 63) == 0;
	int nib = (d->i + d->blk[1] - 1) / d->blk[1];
	long ns = (long)d->kh * d->kw * nib;


#pragma omp parallel for schedule(static) if ((long)d->o * d->i * d->kh * d->kw > 32768)
	for (long t = 0; t < ns; t++) {
		int ib = (int)(t % nib);
		long hw = t / nib;

		run_strip(d, src, dst, (int)(hw / d->kw), (int)(hw % d->kw), ib);
	}
}

void
cpu_wre_run(struct cpu *c, struct cpu_entry *e, void *const *ptr)
{
	if (cpu_failed(c))
		return;
	if (e->wp.kind == CPU_WRE_UNDECIDED)
		cpu_wre_plan(e);
	if (e->wp.kind != CPU_WRE_FAST) {
		cpu_run(c, &e->wre, ptr);
		return;
	}
	cpu_wre_exec(&e->wp, ptr[0], ptr[1]);
}
