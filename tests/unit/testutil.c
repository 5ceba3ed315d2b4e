/* testutil.c — helpers shared by the unit tests; see testutil.h. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "frame.h"
#include "testutil.h"

char tu_tmpdir[] = "/tmp/radpipe-unit-XXXXXX";

int
tu_tmpdir_setup(void **state)
{
	return mkdtemp(tu_tmpdir) == NULL ? -1 : 0;
}

int
tu_tmpdir_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

void
tu_write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Writes dir/name into buf; 0 when it is readable, else -1. */
static int
weights_in(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return access(buf, R_OK) == 0 ? 0 : -1;
}

int
tu_weights_file(const char *name, char *buf, size_t len)
{
	static const char v3[] = "inception_v3_imagenet_notop.h5";
	static const char keras[] = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5";
	const char *env = getenv("RADPIPE_WEIGHTS"), *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	char dirs[2][4096];
	int n = 0, i;

	if (env != NULL && *env != '\0') {
		snprintf(dirs[n++], sizeof dirs[0], "%s", env);
	} else {
		snprintf(dirs[n++], sizeof dirs[0], "weights");
		if (xdg != NULL && *xdg != '\0')
			snprintf(dirs[n++], sizeof dirs[0], "%s/radpipe/weights", xdg);
		else if (home != NULL)
			snprintf(dirs[n++], sizeof dirs[0], "%s/.local/share/radpipe/weights", home);
	}
	for (i = 0; i < n; i++)
		if (weights_in(dirs[i], name, buf, len) == 0 ||
		    (strcmp(name, v3) == 0 && weights_in(dirs[i], keras, buf, len) == 0))
			return 0;
	return -1;
}

void
tu_ref_read(const struct frame *f, struct frame_reader *r, struct tu_ref *p)
{
	struct tensor t, ti;
	char err[256];

	memset(p, 0, sizeof *p);
	if (frame_str(f, "name", p->name, sizeof p->name) != 1 ||
	    fv_tensor(frame_get(f, "x"), &t, err, sizeof err) < 0)
		die("%s: frame %llu: bad ref frame", frame_reader_name(r), (unsigned long long)f->index);
	p->count = tensor_count(&t);
	if (t.dtype == DT_U8) {
		p->u8 = xmalloc(t.nbytes);
		memcpy(p->u8, t.data, t.nbytes);
	} else {
		p->x = xmalloc(t.nbytes);
		memcpy(p->x, t.data, t.nbytes);
	}
	if (frame_get(f, "idx") != NULL) {
		if (fv_tensor(frame_get(f, "idx"), &ti, err, sizeof err) < 0 ||
		    ti.dtype != DT_I32 || tensor_count(&ti) != p->count)
			die("%s: %s: bad idx", frame_reader_name(r), p->name);
		p->idx = xmalloc(ti.nbytes);
		memcpy(p->idx, ti.data, ti.nbytes);
	}
}

const struct tu_ref *
tu_ref_find(const struct tu_ref *refs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(refs[i].name, name) == 0)
			return &refs[i];
	die("fixture has no %s", name);
}

void
tu_refs_free(struct tu_ref *refs, int n)
{
	for (int i = 0; i < n; i++) {
		free(refs[i].x);
		free(refs[i].idx);
		free(refs[i].u8);
	}
}

double
tu_compare(struct tu_tally *t, const char *be, const char *what, const float *got, size_t n,
    const struct tu_ref *r, double tol, enum tu_cmp mode)
{
	double d = 0, mx = 0, rel, d2 = 0, r2 = 0, e;
	size_t i, j, worst = 0;

	for (i = 0; i < r->count; i++) {
		j = r->idx ? (size_t)r->idx[i] : i;
		if (j >= n)
			die("%s: index %zu out of range", r->name, j);
		e = (double)got[j] - r->x[i];
		if (fabs(e) > d) {
			d = fabs(e);
			worst = i;
		}
		mx = fmax(mx, fabs(r->x[i]));
		d2 += e * e;
		r2 += (double)r->x[i] * r->x[i];
	}
	rel = mode == TU_ABS ? d : mode == TU_MAXREL ? d / (mx > 0 ? mx : 1) :
	    sqrt(d2 / (r2 > 0 ? r2 : 1));
	t->compared++;
	if (getenv("RADPIPE_PARITY_VERBOSE") != NULL && r->count > 0)
		printf("     worst at %zu: radpipe %.7g keras %.7g\n", r->idx ? (size_t)r->idx[worst] : worst,
		    got[r->idx ? (size_t)r->idx[worst] : worst], r->x[worst]);
	if (t->verbose || !(rel <= tol))
		printf("%-4s %-52s max|diff| %.3g  max|keras| %.3g  %s %.3g%s\n", be, what, d, mx,
		    mode == TU_ABS ? "abs" : mode == TU_MAXREL ? "rel" : "l2rel", rel,
		    rel <= tol ? "" : "  FAIL");
	if (!(rel <= tol))
		t->failures++;
	return rel;
}

double
tu_compare_step(struct tu_tally *t, const char *be, const char *pname, const float *a,
    const float *base, size_t off, size_t size, const struct tu_ref *refs, int nrefs,
    const char *grad_prefix, double min_g, double tol)
{
	const struct tu_ref *param, *grad;
	struct tu_ref d;
	char name[160];
	double gmax = 0, rel;
	float *got = XNEW(float, size);
	size_t i, j;

	snprintf(name, sizeof name, "train/param/%s", pname);
	param = tu_ref_find(refs, nrefs, name);
	snprintf(name, sizeof name, "%s%s", grad_prefix, pname);
	grad = tu_ref_find(refs, nrefs, name);
	memset(&d, 0, sizeof d);
	d.x = XNEW(float, param->count ? param->count : 1);
	d.idx = XNEW(int32_t, param->count ? param->count : 1);
	for (i = 0; i < grad->count; i++)
		gmax = fmax(gmax, fabs(grad->x[i]));
	for (i = 0; i < size; i++)
		got[i] = a[off + i] - base[off + i];
	for (i = 0; i < param->count; i++) {
		j = param->idx ? (size_t)param->idx[i] : i;
		if (fabs(grad->x[i]) < min_g * gmax)
			continue;
		d.idx[d.count] = (int32_t)j;
		d.x[d.count++] = param->x[i] - base[off + j];
	}
	snprintf(name, sizeof name, "train/step/%s (%zu of %zu)", pname, d.count, param->count);
	rel = tu_compare(t, be, name, got, size, &d, tol, TU_MAXREL);
	free(d.x);
	free(d.idx);
	free(got);
	return rel;
}
