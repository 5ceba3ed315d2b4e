/* nn_ops_cases.h — the shapes and runners of test_nn_ops.c (included
 * there once, after its buffers): a runner calls one op (forward or
 * backward) on one shape on ref (R) and the backend under test (X) from
 * the same inputs and checks every output with the tolerance it is given.
 * Not a header of its own: it uses test_nn_ops.c's statics.
 */
/* ---- shapes ---- */

/* conv: x (n, ih, iw, ic) pixel stride ic+xpad -> y (.., oc) stride oc+ypad */
struct conv_shape { int n, ih, iw, ic, oc, kh, kw, s, same, xpad, ypad, bias; };
static const struct conv_shape conv_shapes[] = {
	{ 2, 9, 11, 3, 8, 3, 3, 2, 0, 0, 0, 1 },
	{ 2, 7, 7, 5, 6, 3, 3, 1, 1, 0, 0, 0 },
	{ 1, 8, 8, 4, 4, 3, 3, 2, 1, 3, 0, 0 },         /* asymmetric 'same' */
	{ 2, 10, 10, 8, 8, 3, 3, 2, 1, 3, 0, 1 },       /* asymmetric, even */
	{ 1, 6, 7, 4, 4, 2, 2, 1, 1, 0, 4, 0 },         /* 2x2 'same': pad after */
	{ 2, 17, 15, 3, 32, 3, 3, 2, 0, 0, 0, 1 },      /* the stem */
	{ 2, 6, 9, 16, 12, 1, 7, 1, 1, 0, 5, 0 },
	{ 2, 9, 6, 12, 16, 7, 1, 1, 1, 4, 4, 1 },
	{ 1, 10, 10, 8, 16, 5, 5, 1, 1, 0, 0, 0 },
	{ 2, 5, 5, 19, 17, 1, 1, 1, 0, 7, 9, 0 },
	{ 2, 8, 8, 16, 24, 1, 1, 1, 1, 5, 40, 1 },      /* 1x1 on wide views */
	{ 3, 13, 13, 32, 48, 3, 3, 2, 0, 16, 0, 0 },
	{ 1, 11, 11, 33, 20, 3, 3, 1, 1, 0, 12, 1 },
	/* InceptionV3-like channel counts (oneDNN's brgconv / jit_1x1) */
	{ 2, 8, 8, 192, 64, 1, 1, 1, 1, 64, 128, 0 },
	{ 2, 9, 9, 64, 96, 3, 3, 1, 1, 0, 0, 0 },
	{ 2, 9, 9, 48, 64, 5, 5, 1, 1, 16, 32, 0 },
	{ 2, 11, 11, 96, 96, 3, 3, 2, 0, 0, 0, 0 },
	{ 2, 7, 7, 128, 192, 7, 1, 1, 1, 0, 0, 0 },
	{ 1, 4, 4, 448, 384, 3, 3, 1, 1, 0, 0, 0 },
};

/* bn: m pixels of c channels, x/y pixel strides c+xpad, c+ypad */
struct bn_shape { int m, c, xpad, ypad, scale, center, unbiased; };
static const struct bn_shape bn_shapes[] = {
	{ 70, 13, 0, 0, 1, 1, 1 },
	{ 2 * 9 * 7, 32, 5, 0, 0, 1, 1 },               /* InceptionV3: scale=False */
	{ 33, 17, 0, 3, 0, 0, 0 },
	{ 5 * 8 * 8, 48, 16, 16, 1, 0, 1 },
	{ 200, 20, 12, 7, 1, 0, 1 },
	{ 40000, 64, 0, 0, 1, 1, 1 },                   /* long sums */
};

/* pool: k x k window, stride s; x/y pixel strides c+xpad, c+ypad; ties:
 * integer inputs, so max pooling must route to the first maximum */
struct pool_shape { int n, ih, iw, c, k, s, same, avg, xpad, ypad, ties; };
static const struct pool_shape pool_shapes[] = {
	{ 2, 9, 9, 8, 3, 2, 0, 0, 0, 0, 0 },
	{ 2, 15, 15, 40, 3, 2, 0, 0, 0, 0, 1 },
	{ 2, 7, 8, 5, 3, 1, 1, 0, 3, 0, 1 },            /* 'same' padding, ties */
	{ 1, 9, 10, 70, 2, 2, 1, 0, 0, 6, 0 },          /* pad after only */
	{ 1, 7, 7, 16, 2, 2, 1, 0, 0, 0, 0 },
	{ 3, 8, 8, 16, 3, 2, 0, 0, 16, 32, 0 },
	{ 2, 9, 9, 8, 3, 2, 0, 1, 0, 0, 0 },
	{ 2, 7, 8, 5, 3, 1, 1, 1, 3, 0, 0 },            /* average excludes padding */
	{ 1, 9, 10, 70, 2, 2, 1, 1, 0, 6, 0 },
	{ 2, 10, 10, 16, 3, 2, 1, 1, 4, 0, 0 },         /* asymmetric, even */
	{ 3, 8, 8, 16, 3, 2, 0, 1, 16, 32, 0 },
	{ 1, 5, 5, 3, 3, 1, 1, 1, 0, 0, 0 },
	/* batch 5, odd sizes, x and y strided; 85 channels = 64 + 16 + 5 (the
	 * cpu loops' block, vector and single-channel paths) */
	{ 5, 7, 9, 85, 3, 1, 1, 0, 11, 7, 1 },
	{ 5, 9, 9, 96, 3, 2, 0, 0, 0, 160, 1 },       /* into a concat slice */
	{ 5, 7, 9, 85, 3, 1, 1, 1, 11, 7, 0 },
	{ 1, 8, 8, 288, 3, 1, 1, 1, 32, 0, 0 },       /* branch_pool, x strided */
};

struct ew_shape { int m, c, x_ld, y_ld; };
static const struct ew_shape ew_shapes[] = {
	{ 3 * 5 * 7, 11, 19, 14 },
	{ 300, 40, 56, 72 },
	{ 300, 40, 40, 40 },
};

struct gap_shape { int n, hw, c, x_ld; };
static const struct gap_shape gap_shapes[] = {
	{ 3, 7 * 5, 21, 29 },
	{ 3, 64, 100, 120 },
};

struct dense_shape { int n, in, out, bias; };
static const struct dense_shape dense_shapes[] = {
	{ 5, 2048, 1, 1 },              /* the paper's head */
	{ 7, 300, 33, 1 },
	{ 7, 33, 10, 0 },
	{ 1, 17, 3, 1 },
};

/* flat ops: n elements; for losses n samples of k classes */
struct flat_shape { int n, k; };
static const struct flat_shape flat_shapes[] = {
	{ 100003, 0 },
	{ 30000, 0 },
};
static const struct flat_shape loss_shapes[] = {
	{ 9, 4 },
	{ 37, 5 },
};

/* ---- runners: one op (fwd or bwd), one shape, on R and X ---- */

static struct nn_conv
conv_of(const struct conv_shape *t)
{
	struct nn_conv p = { .n = t->n, .ih = t->ih, .iw = t->iw, .ic = t->ic, .oc = t->oc,
	                     .kh = t->kh, .kw = t->kw, .sh = t->s, .sw = t->s };

	geom(t->ih, t->kh, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->kw, t->s, t->same, &p.ow, &p.pl);
	p.x_ld = t->ic + t->xpad;
	p.y_ld = t->oc + t->ypad;
	return p;
}

#define NX(p) ((size_t)(p).n * (p).ih * (p).iw * (p).x_ld)
#define NY(p) ((size_t)(p).n * (p).oh * (p).ow * (p).y_ld)
#define NW(p) ((size_t)(p).kh * (p).kw * (p).ic * (p).oc)

static void
run_conv_fwd(const void *shape, double tol)
{
	const struct conv_shape *t = shape;
	struct nn_conv p = conv_of(t);
	struct buf x = rnd(NX(p)), w = buf_new(NW(p), -0.5f, 0.5f), b = rnd(p.oc), y = rnd(NY(p));

	R->conv_fwd(R, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	X->conv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check("conv_fwd y", &y, tol);
	float *s = snap(&y);
	X->conv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check_same("conv_fwd", &y, s);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
}

static void
run_conv_bwd_data(const void *shape, double tol)
{
	struct nn_conv p = conv_of(shape);
	struct buf dy = rnd(NY(p)), w = buf_new(NW(p), -0.5f, 0.5f), dx = rnd(NX(p));

	R->conv_bwd_data(R, &p, dy.r, w.r, dx.r, 1);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 1);
	check("conv_bwd_data dx (beta 1)", &dx, tol);
	R->conv_bwd_data(R, &p, dy.r, w.r, dx.r, 0);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check("conv_bwd_data dx (beta 0)", &dx, tol);
	float *s = snap(&dx);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check_same("conv_bwd_data", &dx, s);
	buf_free(&dy); buf_free(&w); buf_free(&dx);
}

static void
run_conv_bwd_weights(const void *shape, double tol)
{
	const struct conv_shape *t = shape;
	struct nn_conv p = conv_of(t);
	struct buf x = rnd(NX(p)), dy = rnd(NY(p)), dw = rnd(NW(p)), db = rnd(p.oc);

	R->conv_bwd_weights(R, &p, x.r, dy.r, dw.r, t->bias ? db.r : NULL);
	X->conv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check("conv_bwd_weights dw", &dw, tol);
	check("conv_bwd_weights db", &db, tol);
	float *s = snap(&dw);
	X->conv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check_same("conv_bwd_weights", &dw, s);
	buf_free(&x); buf_free(&dy); buf_free(&dw); buf_free(&db);
}

/* The buffers of a batch-norm case. */
struct bn_bufs {
	struct nn_bn p;
	struct buf x, y, dy, dx, g, bt, mean, is, rm, rv, dg, db;
};

static void
bn_open(struct bn_bufs *b, const struct bn_shape *t)
{
	b->p = (struct nn_bn){ t->m, t->c, t->c + t->xpad, t->c + t->ypad, 1e-3f, 0.99f, t->unbiased };
	b->x = buf_new((size_t)t->m * b->p.x_ld, -2, 3);
	b->y = rnd((size_t)t->m * b->p.y_ld);
	b->dy = rnd(b->y.n);
	b->dx = rnd(b->x.n);
	b->g = buf_new(t->c, 0.5f, 1.5f);
	b->bt = rnd(t->c);
	b->mean = buf_new(t->c, -0.2f, 0.2f);
	b->is = buf_new(t->c, 0.5f, 1.5f);
	b->rm = rnd(t->c);
	b->rv = buf_new(t->c, 0.5f, 2);
	b->dg = rnd(t->c);
	b->db = rnd(t->c);
}

static void
bn_close(struct bn_bufs *b)
{
	struct buf *all[] = { &b->x, &b->y, &b->dy, &b->dx, &b->g, &b->bt, &b->mean, &b->is,
	                      &b->rm, &b->rv, &b->dg, &b->db };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		buf_free(all[i]);
}

/* gamma/beta of side s (0 ref, 1 backend), NULL when the shape has none. */
#define GAM(b, t, s) ((t)->scale ? ((s) ? (b).g.x : (b).g.r) : NULL)
#define BET(b, t, s) ((t)->center ? ((s) ? (b).bt.x : (b).bt.r) : NULL)

static void
run_bn_fwd_train(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	R->bn_fwd_train(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.y.r, b.mean.r, b.is.r,
	                b.rm.r, b.rv.r);
	X->bn_fwd_train(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.y.x, b.mean.x, b.is.x,
	                b.rm.x, b.rv.x);
	check("bn_fwd_train y", &b.y, tol);
	check("bn_fwd_train mean", &b.mean, tol);
	check("bn_fwd_train invstd", &b.is, tol);
	check("bn_fwd_train moving mean", &b.rm, tol);
	check("bn_fwd_train moving var", &b.rv, tol);
	bn_close(&b);
}

static void
run_bn_fwd_infer(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	R->bn_fwd_infer(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.rm.r, b.rv.r, b.y.r);
	X->bn_fwd_infer(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.rm.x, b.rv.x, b.y.x);
	check("bn_fwd_infer y", &b.y, tol);
	bn_close(&b);
}

static void
run_bn_bwd(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;
	float *s;

	bn_open(&b, t);
	/* mean and invstd of the batch, as the forward pass saves them */
	R->bn_fwd_train(R, &b.p, b.x.r, NULL, NULL, b.y.r, b.mean.r, b.is.r, b.rm.r, b.rv.r);
	R->download(R, b.mean.h, b.mean.r, b.mean.n * 4);
	R->download(R, b.is.h, b.is.r, b.is.n * 4);
	X->upload(X, b.mean.x, b.mean.h, b.mean.n * 4);
	X->upload(X, b.is.x, b.is.h, b.is.n * 4);
	for (int beta = 1; beta >= 0; beta--) {
		R->bn_bwd(R, &b.p, b.x.r, b.dy.r, GAM(b, t, 0), b.mean.r, b.is.r, b.dx.r,
		          t->scale ? b.dg.r : NULL, t->center ? b.db.r : NULL, (float)beta);
		X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x,
		          t->scale ? b.dg.x : NULL, t->center ? b.db.x : NULL, (float)beta);
		check(beta ? "bn_bwd dx (beta 1)" : "bn_bwd dx (beta 0)", &b.dx, tol);
		check("bn_bwd dgamma", &b.dg, tol);
		check("bn_bwd dbeta", &b.db, tol);
	}
	s = snap(&b.dx);
	X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x,
	          t->scale ? b.dg.x : NULL, t->center ? b.db.x : NULL, 0);
	check_same("bn_bwd", &b.dx, s);
	/* dgamma and dbeta not wanted */
	R->bn_bwd(R, &b.p, b.x.r, b.dy.r, GAM(b, t, 0), b.mean.r, b.is.r, b.dx.r, NULL, NULL, 1);
	X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x, NULL, NULL, 1);
	check("bn_bwd dx (no dgamma, dbeta)", &b.dx, tol);
	bn_close(&b);
}

static void
run_bn_bwd_infer(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	for (int beta = 1; beta >= 0; beta--) {
		R->bn_bwd_infer(R, &b.p, b.dy.r, GAM(b, t, 0), b.rv.r, b.dx.r, (float)beta);
		X->bn_bwd_infer(X, &b.p, b.dy.x, GAM(b, t, 1), b.rv.x, b.dx.x, (float)beta);
		check(beta ? "bn_bwd_infer dx (beta 1)" : "bn_bwd_infer dx (beta 0)", &b.dx, tol);
	}
	bn_close(&b);
}

static void
run_bn_apply(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	for (int relu = 0; relu < 2; relu++) {
		R->bn_apply(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.mean.r, b.is.r, b.y.r, relu);
		X->bn_apply(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.mean.x, b.is.x, b.y.x, relu);
		check(relu ? "bn_apply y (relu)" : "bn_apply y", &b.y, tol);
	}
	bn_close(&b);
}

static void
run_relu_fwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld, 0 };
	struct buf x = rnd((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);

	R->relu_fwd(R, &p, x.r, y.r);
	X->relu_fwd(X, &p, x.x, y.x);
	check("relu_fwd y", &y, tol);
	if (p.x_ld == p.y_ld) {
		R->relu_fwd(R, &p, x.r, x.r);
		X->relu_fwd(X, &p, x.x, x.x);
		check("relu_fwd in place", &x, tol);
	}
	buf_free(&x); buf_free(&y);
}

static void
run_relu_bwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld, 0 };
	struct buf y = rnd((size_t)p.m * p.y_ld), dy = rnd(y.n), dx = rnd((size_t)p.m * p.x_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->relu_bwd(R, &p, y.r, dy.r, dx.r, (float)beta);
		X->relu_bwd(X, &p, y.x, dy.x, dx.x, (float)beta);
		check(beta ? "relu_bwd dx (beta 1)" : "relu_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&y); buf_free(&dy); buf_free(&dx);
}

static void
run_add(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld, 0 };
	struct buf x = rnd((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->add(R, &p, x.r, y.r, (float)beta);
		X->add(X, &p, x.x, y.x, (float)beta);
		check(beta ? "add y (beta 1)" : "add y (beta 0: copy)", &y, tol);
	}
	buf_free(&x); buf_free(&y);
}

static struct nn_pool
pool_of(const struct pool_shape *t)
{
	struct nn_pool p = { .n = t->n, .ih = t->ih, .iw = t->iw, .c = t->c, .kh = t->k,
	                     .kw = t->k, .sh = t->s, .sw = t->s, .x_ld = t->c + t->xpad,
	                     .y_ld = t->c + t->ypad, .avg = t->avg };

	geom(t->ih, t->k, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->k, t->s, t->same, &p.ow, &p.pl);
	return p;
}

static void
run_pool_fwd(const void *shape, double tol)
{
	const struct pool_shape *t = shape;
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	struct buf x = t->ties ? buf_ints(nx, 3) : rnd(nx), y = rnd(ny);

	R->pool_fwd(R, &p, x.r, y.r);
	X->pool_fwd(X, &p, x.x, y.x);
	check(p.avg ? "avgpool_fwd y" : "maxpool_fwd y", &y, tol);
	buf_free(&x); buf_free(&y);
}

static void
run_pool_bwd(const void *shape, double tol)
{
	const struct pool_shape *t = shape;
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	struct buf x = t->ties ? buf_ints(nx, 3) : rnd(nx), dy = rnd(ny), dx = rnd(nx);

	for (int beta = 1; beta >= 0; beta--) {
		R->pool_bwd(R, &p, x.r, dy.r, dx.r, (float)beta);
		X->pool_bwd(X, &p, x.x, dy.x, dx.x, (float)beta);
		check(beta ? "pool_bwd dx (beta 1)" : "pool_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&x); buf_free(&dy); buf_free(&dx);
}

static void
run_gap_fwd(const void *shape, double tol)
{
	const struct gap_shape *t = shape;
	struct nn_gap p = { t->n, t->hw, t->c, t->x_ld };
	struct buf x = rnd((size_t)p.n * p.hw * p.x_ld), y = rnd((size_t)p.n * p.c);

	R->gap_fwd(R, &p, x.r, y.r);
	X->gap_fwd(X, &p, x.x, y.x);
	check("gap_fwd y", &y, tol);
	buf_free(&x); buf_free(&y);
}

static void
run_gap_bwd(const void *shape, double tol)
{
	const struct gap_shape *t = shape;
	struct nn_gap p = { t->n, t->hw, t->c, t->x_ld };
	struct buf dy = rnd((size_t)p.n * p.c), dx = rnd((size_t)p.n * p.hw * p.x_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->gap_bwd(R, &p, dy.r, dx.r, (float)beta);
		X->gap_bwd(X, &p, dy.x, dx.x, (float)beta);
		check(beta ? "gap_bwd dx (beta 1)" : "gap_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&dy); buf_free(&dx);
}

static void
run_dense_fwd(const void *shape, double tol)
{
	const struct dense_shape *t = shape;
	struct nn_dense p = { t->n, t->in, t->out };
	struct buf x = rnd((size_t)p.n * p.in), w = buf_new((size_t)p.in * p.out, -0.1f, 0.1f);
	struct buf b = rnd(p.out), y = rnd((size_t)p.n * p.out);

	R->dense_fwd(R, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	X->dense_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check("dense_fwd y", &y, tol);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
}

static void
run_dense_bwd(const void *shape, double tol)
{
	const struct dense_shape *t = shape;
	struct nn_dense p = { t->n, t->in, t->out };
	struct buf x = rnd((size_t)p.n * p.in), w = buf_new((size_t)p.in * p.out, -0.1f, 0.1f);
	struct buf dy = rnd((size_t)p.n * p.out), dx = rnd(x.n), dw = rnd(w.n), db = rnd(p.out);

	for (int beta = 1; beta >= 0; beta--) {
		R->dense_bwd(R, &p, x.r, w.r, dy.r, dx.r, dw.r, t->bias ? db.r : NULL, (float)beta);
		X->dense_bwd(X, &p, x.x, w.x, dy.x, dx.x, dw.x, t->bias ? db.x : NULL, (float)beta);
		check(beta ? "dense_bwd dx (beta 1)" : "dense_bwd dx (beta 0)", &dx, tol);
		check("dense_bwd dw", &dw, tol);
		check("dense_bwd db", &db, tol);
	}
	R->dense_bwd(R, &p, x.r, w.r, dy.r, NULL, dw.r, NULL, 0);
	X->dense_bwd(X, &p, x.x, w.x, dy.x, NULL, dw.x, NULL, 0);
	check("dense_bwd dw (no dx, db)", &dw, tol);
	buf_free(&x); buf_free(&w); buf_free(&dy); buf_free(&dx); buf_free(&dw); buf_free(&db);
}

static void
run_dropout_fwd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = rnd(n), y = rnd(n), mask = rnd(n);

	R->dropout_fwd(R, n, 0.5f, 0x1234567890abcdefull, 77, x.r, y.r, mask.r);
	X->dropout_fwd(X, n, 0.5f, 0x1234567890abcdefull, 77, x.x, y.x, mask.x);
	check("dropout_fwd mask", &mask, 0);
	check("dropout_fwd y", &y, tol);
	R->dropout_fwd(R, n, 0.3f, 5, (1ull << 32) + 3, x.r, y.r, mask.r);
	X->dropout_fwd(X, n, 0.3f, 5, (1ull << 32) + 3, x.x, y.x, mask.x);
	check("dropout_fwd mask (rate 0.3, 64-bit counter)", &mask, 0);
	check("dropout_fwd y (rate 0.3)", &y, tol);
	buf_free(&x); buf_free(&y); buf_free(&mask);
}

static void
run_dropout_bwd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = rnd(n), y = rnd(n), mask = rnd(n), dy = rnd(n), dx = rnd(n);

	R->dropout_fwd(R, n, 0.3f, 42, 7, x.r, y.r, mask.r);   /* one mask for both */
	R->download(R, mask.h, mask.r, n * 4);
	X->upload(X, mask.x, mask.h, n * 4);
	for (int beta = 1; beta >= 0; beta--) {
		R->dropout_bwd(R, n, mask.r, dy.r, dx.r, (float)beta);
		X->dropout_bwd(X, n, mask.x, dy.x, dx.x, (float)beta);
		check(beta ? "dropout_bwd dx (beta 1)" : "dropout_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&x); buf_free(&y); buf_free(&mask); buf_free(&dy); buf_free(&dx);
}

static void
run_bce_logits(const void *shape, double tol)
{
	int n = ((const struct flat_shape *)shape)->n;
	struct buf z = buf_new(n, -20, 20), y = buf_ints(n, 2), w = buf_new(n, 0.1f, 2);
	struct buf loss = rnd(1), dz = rnd(n), prob = rnd(n);
	float clips[] = { 0, 1e-7f, 1e-3f };

	for (int i = 0; i < 3; i++) {
		R->bce_logits(R, n, z.r, y.r, i ? w.r : NULL, clips[i], loss.r, dz.r, prob.r);
		X->bce_logits(X, n, z.x, y.x, i ? w.x : NULL, clips[i], loss.x, dz.x, prob.x);
		check("bce_logits loss", &loss, tol);
		check("bce_logits dz", &dz, tol);
		check("bce_logits prob", &prob, tol);
	}
	buf_free(&z); buf_free(&y); buf_free(&w); buf_free(&loss); buf_free(&dz); buf_free(&prob);
}

static void
run_softmax_ce(const void *shape, double tol)
{
	const struct flat_shape *t = shape;
	int n = t->n, k = t->k;
	struct buf z = buf_new((size_t)n * k, -12, 12), lab = buf_ints(n, k), w = buf_new(n, 0.1f, 2);
	struct buf loss = rnd(1), dz = rnd((size_t)n * k), prob = rnd((size_t)n * k);

	for (int i = 0; i < 2; i++) {
		R->softmax_ce(R, n, k, z.r, lab.r, i ? w.r : NULL, loss.r, dz.r, prob.r);
		X->softmax_ce(X, n, k, z.x, lab.x, i ? w.x : NULL, loss.x, dz.x, prob.x);
		check("softmax_ce loss", &loss, tol);
		check("softmax_ce dz", &dz, tol);
		check("softmax_ce prob", &prob, tol);
	}
	buf_free(&z); buf_free(&lab); buf_free(&w); buf_free(&loss); buf_free(&dz); buf_free(&prob);
}

static void
run_adam(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf p = rnd(n), g = rnd(n), m = buf_new(n, -0.1f, 0.1f), v = buf_new(n, 0, 0.01f);

	for (int t = 0; t < 3; t++) {
		R->adam(R, n, p.r, g.r, m.r, v.r, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
		X->adam(X, n, p.x, g.x, m.x, v.x, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
	}
	check("adam p", &p, tol);
	check("adam m", &m, tol);
	check("adam v", &v, tol);
	buf_free(&p); buf_free(&g); buf_free(&m); buf_free(&v);
}

static void
run_sgd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf p = rnd(n), g = rnd(n), v = buf_new(n, -0.1f, 0.1f);

	for (int t = 0; t < 4; t++) {   /* plain and nesterov, with and without l2 */
		R->sgd(R, n, p.r, g.r, v.r, 0.01f, 0.9f, t & 1, t > 1 ? 1e-4f : 0);
		X->sgd(X, n, p.x, g.x, v.x, 0.01f, 0.9f, t & 1, t > 1 ? 1e-4f : 0);
	}
	check("sgd p", &p, tol);
	check("sgd v", &v, tol);
	buf_free(&p); buf_free(&g); buf_free(&v);
}

static void
run_input(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	uint8_t *u8 = malloc(n);
	uint16_t *u16 = malloc(n * 2);
	float *f = malloc(n * 4);
	struct buf d = rnd(n);

	for (size_t i = 0; i < n; i++) {
		u8[i] = (uint8_t)rng_below(&rg, 256);
		u16[i] = (uint16_t)rng_below(&rg, 65536);
		f[i] = (float)rng_normal(&rg);
	}
	R->input(R, NN_IN_U8, u8, n, 1 / 127.5f, -1, d.r);
	X->input(X, NN_IN_U8, u8, n, 1 / 127.5f, -1, d.x);
	check("input u8", &d, tol);
	R->input(R, NN_IN_U16, u16, n, 1 / 65535.0f, 0, d.r);
	X->input(X, NN_IN_U16, u16, n, 1 / 65535.0f, 0, d.x);
	check("input u16", &d, tol);
	R->input(R, NN_IN_F32, f, n, 2, 0.5f, d.r);
	X->input(X, NN_IN_F32, f, n, 2, 0.5f, d.x);
	check("input f32", &d, tol);
	free(u8); free(u16); free(f); buf_free(&d);
}

/* nonfinite (optional): exactly ref's answer, wherever the bad value is. */
static void
run_nonfinite(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = buf_new(n, -3e35f, 3e35f);
	const float bad[] = { NAN, INFINITY, -INFINITY };

	assert_int_equal(X->nonfinite(X, x.x, n), R->nonfinite(R, x.r, n));
	for (int i = 0; i < 3; i++) {
		size_t at = i == 0 ? n - 1 : i == 1 ? 0 : n / 2;

		x.h[at] = bad[i];
		X->upload(X, x.x + at, x.h + at, 4);
		R->upload(R, x.r + at, x.h + at, 4);
		assert_int_equal(X->nonfinite(X, x.x, n), 1);
		assert_int_equal(R->nonfinite(R, x.r, n), 1);
		assert_int_equal(X->nonfinite(X, x.x, at), 0);  /* the range ends before it */
		x.h[at] = 0;
		X->upload(X, x.x + at, x.h + at, 4);
		R->upload(R, x.r + at, x.h + at, 4);
	}
	buf_free(&x);
}
