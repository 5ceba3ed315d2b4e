/* nn_ops_dw.h — shapes and runners of test_nn_ops.c for the ops of
 * ResNet50, DenseNet121 and MobileNetV2 (depthwise convolution, zero
 * padding, ReLU6, per-channel input); included after nn_ops_cases.h,
 * whose helpers it uses.
 */
/* ---- shapes ---- */

/* depthwise conv: x (n, ih, iw, c) stride c+xpad -> y stride c+ypad */
struct dw_shape { int n, ih, iw, c, kh, kw, s, same, xpad, ypad, bias; };
static const struct dw_shape dw_shapes[] = {
	{ 2, 9, 9, 8, 3, 3, 1, 1, 0, 0, 1 },            /* MobileNetV2 stride 1 */
	{ 2, 10, 10, 16, 3, 3, 2, 0, 0, 0, 0 },         /* stride 2 'valid' after ZeroPadding */
	{ 1, 9, 7, 5, 3, 3, 2, 1, 3, 0, 0 },            /* odd sizes, 'same' s2, ld > c */
	{ 2, 8, 8, 32, 3, 3, 2, 1, 0, 16, 1 },          /* asymmetric 'same', wide y view */
	{ 3, 7, 6, 33, 5, 3, 1, 0, 7, 5, 1 },           /* rectangular kernel */
	{ 2, 14, 14, 96, 3, 3, 2, 0, 0, 0, 0 },
	{ 1, 4, 4, 960, 3, 3, 1, 1, 0, 0, 0 },          /* MobileNetV2's widest */
};

/* zero padding: (pt, pb, pl, pr) */
struct pad_shape { int n, ih, iw, c, pt, pb, pl, pr, xpad, ypad; };
static const struct pad_shape pad_shapes[] = {
	{ 2, 8, 8, 16, 0, 1, 0, 1, 0, 0 },              /* MobileNetV2 */
	{ 2, 9, 7, 3, 3, 3, 3, 3, 0, 0 },               /* ResNet50 conv1_pad */
	{ 1, 5, 6, 24, 1, 1, 1, 1, 8, 4 },              /* DenseNet pool1_pad, views */
	{ 3, 7, 5, 13, 2, 0, 0, 3, 3, 0 },
};

/* ---- runners ---- */

static struct nn_conv
dw_of(const struct dw_shape *t)
{
	struct nn_conv p = { .n = t->n, .ih = t->ih, .iw = t->iw, .ic = t->c, .oc = t->c,
	                     .kh = t->kh, .kw = t->kw, .sh = t->s, .sw = t->s };

	geom(t->ih, t->kh, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->kw, t->s, t->same, &p.ow, &p.pl);
	p.x_ld = t->c + t->xpad;
	p.y_ld = t->c + t->ypad;
	return p;
}

#define NWD(p) ((size_t)(p).kh * (p).kw * (p).ic)

static void
run_dwconv_fwd(const void *shape, double tol)
{
	const struct dw_shape *t = shape;
	struct nn_conv p = dw_of(t);
	struct buf x = rnd(NX(p)), w = buf_new(NWD(p), -0.5f, 0.5f), b = rnd(p.oc), y = rnd(NY(p));

	R->dwconv_fwd(R, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	X->dwconv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check("dwconv_fwd y", &y, tol);
	float *s = snap(&y);
	X->dwconv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check_same("dwconv_fwd", &y, s);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
}

static void
run_dwconv_bwd_data(const void *shape, double tol)
{
	struct nn_conv p = dw_of(shape);
	struct buf dy = rnd(NY(p)), w = buf_new(NWD(p), -0.5f, 0.5f), dx = rnd(NX(p));

	R->dwconv_bwd_data(R, &p, dy.r, w.r, dx.r, 1);
	X->dwconv_bwd_data(X, &p, dy.x, w.x, dx.x, 1);
	check("dwconv_bwd_data dx (beta 1)", &dx, tol);
	R->dwconv_bwd_data(R, &p, dy.r, w.r, dx.r, 0);
	X->dwconv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check("dwconv_bwd_data dx (beta 0)", &dx, tol);
	float *s = snap(&dx);
	X->dwconv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check_same("dwconv_bwd_data", &dx, s);
	buf_free(&dy); buf_free(&w); buf_free(&dx);
}

static void
run_dwconv_bwd_weights(const void *shape, double tol)
{
	const struct dw_shape *t = shape;
	struct nn_conv p = dw_of(t);
	struct buf x = rnd(NX(p)), dy = rnd(NY(p)), dw = rnd(NWD(p)), db = rnd(p.oc);

	R->dwconv_bwd_weights(R, &p, x.r, dy.r, dw.r, t->bias ? db.r : NULL);
	X->dwconv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check("dwconv_bwd_weights dw", &dw, tol);
	if (t->bias)
		check("dwconv_bwd_weights db", &db, tol);
	float *s = snap(&dw);
	X->dwconv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check_same("dwconv_bwd_weights", &dw, s);
	buf_free(&x); buf_free(&dy); buf_free(&dw); buf_free(&db);
}

static struct nn_padg
pad_of(const struct pad_shape *t)
{
	return (struct nn_padg){ .n = t->n, .ih = t->ih, .iw = t->iw, .c = t->c,
	                         .pt = t->pt, .pb = t->pb, .pl = t->pl, .pr = t->pr,
	                         .x_ld = t->c + t->xpad, .y_ld = t->c + t->ypad };
}

#define NPY(p) ((size_t)(p).n * ((p).ih + (p).pt + (p).pb) * ((p).iw + (p).pl + (p).pr) * (p).y_ld)

static void
run_pad_fwd(const void *shape, double tol)
{
	struct nn_padg p = pad_of(shape);
	struct buf x = rnd(NX(p)), y = rnd(NPY(p));

	R->pad_fwd(R, &p, x.r, y.r);
	X->pad_fwd(X, &p, x.x, y.x);
	check("pad_fwd y", &y, tol);
	buf_free(&x); buf_free(&y);
}

static void
run_pad_bwd(const void *shape, double tol)
{
	struct nn_padg p = pad_of(shape);
	struct buf dy = rnd(NPY(p)), dx = rnd(NX(p));

	for (int beta = 1; beta >= 0; beta--) {
		R->pad_bwd(R, &p, dy.r, dx.r, (float)beta);
		X->pad_bwd(X, &p, dy.x, dx.x, (float)beta);
		check(beta ? "pad_bwd dx (beta 1)" : "pad_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&dy); buf_free(&dx);
}

/* ReLU6 on values in [-8, 8) with exact 0s and 6s planted. */
static struct buf
relu6_in(size_t n)
{
	struct buf b = buf_new(n, -8, 8);

	for (size_t i = 0; i < n; i += 7)
		b.h[i] = i % 2 ? 6.0f : 0.0f;
	R->upload(R, b.r, b.h, n * 4);
	X->upload(X, b.x, b.h, n * 4);
	return b;
}

static void
run_relu6_fwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld, 6 };
	struct buf x = relu6_in((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);

	R->relu_fwd(R, &p, x.r, y.r);
	X->relu_fwd(X, &p, x.x, y.x);
	check("relu6_fwd y", &y, tol);
	if (p.x_ld == p.y_ld) {
		R->relu_fwd(R, &p, x.r, x.r);
		X->relu_fwd(X, &p, x.x, x.x);
		check("relu6_fwd in place", &x, tol);
	}
	buf_free(&x); buf_free(&y);
}

static void
run_relu6_bwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld, 6 };
	struct buf y = relu6_in((size_t)p.m * p.y_ld), dy = rnd(y.n), dx = rnd((size_t)p.m * p.x_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->relu_bwd(R, &p, y.r, dy.r, dx.r, (float)beta);
		X->relu_bwd(X, &p, y.x, dy.x, dx.x, (float)beta);
		check(beta ? "relu6_bwd dx (beta 1)" : "relu6_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&y); buf_free(&dy); buf_free(&dx);
}

/* input_ch: caffe (BGR, minus means), torch (x/255, mean/std), a 1- and a
 * 4-channel map, on u8, u16 and f32 pixels. */
static void
run_input_ch(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n / 4 * 4;
	uint8_t *u8 = malloc(n);
	uint16_t *u16 = malloc(n * 2);
	float *f = malloc(n * 4);
	struct buf d = rnd(n);
	static const int bgr[3] = { 2, 1, 0 }, perm4[4] = { 3, 0, 2, 1 };
	static const float cs[3] = { 1, 1, 1 }, co[3] = { -103.939f, -116.779f, -123.68f };
	static const float ts[3] = { 1 / (255 * 0.229f), 1 / (255 * 0.224f), 1 / (255 * 0.225f) };
	static const float to[3] = { -0.485f / 0.229f, -0.456f / 0.224f, -0.406f / 0.225f };
	static const float s4[4] = { 0.5f, 2, -1, 1 / 65535.0f }, o4[4] = { 1, 0, -0.25f, 3 };
	const struct { int c; const int *order; const float *s, *o; } maps[] = {
		{ 3, bgr, cs, co }, { 3, NULL, ts, to }, { 1, NULL, s4, o4 }, { 4, perm4, s4, o4 },
	};

	for (size_t i = 0; i < n; i++) {
		u8[i] = (uint8_t)rng_below(&rg, 256);
		u16[i] = (uint16_t)rng_below(&rg, 65536);
		f[i] = (float)rng_normal(&rg);
	}
	for (size_t k = 0; k < sizeof maps / sizeof maps[0]; k++) {
		int c = maps[k].c;
		size_t np = n / 4 * 4 / (size_t)c;
		const void *src[3] = { u8, u16, f };
		for (int dt = NN_IN_U8; dt <= NN_IN_F32; dt++) {
			R->input_ch(R, dt, src[dt], np, c, maps[k].order, maps[k].s, maps[k].o, d.r);
			X->input_ch(X, dt, src[dt], np, c, maps[k].order, maps[k].s, maps[k].o, d.x);
			check("input_ch", &d, tol);
		}
	}
	free(u8); free(u16); free(f); buf_free(&d);
}
