/* dist.c — data parallelism over MPI (see dist.h).  Built with RADPIPE_MPI
 * (mk/mpi.mk: mpi.h found) it drives MPI; without, a single process that
 * refuses to be one of several. */
#include "nn/dist/dist.h"
#include "err.h"
#include "sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef RADPIPE_MPI
#include <mpi.h>
#endif

struct dist {
	int rank, size, mpi;            /* mpi: MPI_Init was called */
	struct nn_model *m;
	struct nn_backend *be;
	size_t arena, bucket;           /* elements; bytes (0: no overlap) */
	float scale;                    /* this step: local images / all */
	size_t ready_lo, posted_lo;     /* gradients [ready_lo, arena) ready, [posted_lo, arena) posted */
	double t_first;                 /* first bucket ready this step */
	void *req;                      /* MPI_Request[nreq] */
	int nreq, capreq;
	float *buf;                     /* dist_sync_buffers' packed statistics */
	size_t nbuf;
	int sync_bn;
	int dev;                        /* the backend reduces (be->allreduce: NCCL) */
	struct dist_stats st;
};

int
dist_env_size(void)
{
	static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
	                                    "SLURM_STEP_NUM_TASKS", NULL };

	for (int i = 0; vars[i]; i++) {
		const char *s = getenv(vars[i]);
		char *end;
		long v;
		if (s == NULL || *s == '\0')
			continue;
		v = strtol(s, &end, 10);
		if (*end == '\0' && v > 0 && v < 1 << 24)
			return (int)v;
	}
	return 0;
}

int
dist_rank(const struct dist *d)
{
	return d->rank;
}

int
dist_size(const struct dist *d)
{
	return d->size;
}

int
dist_parallel(const struct dist *d)
{
	return d->mpi;
}

void
dist_get_stats(const struct dist *d, struct dist_stats *s)
{
	*s = d->st;
}

#ifdef RADPIPE_MPI

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
dist_built_with_mpi(void)
{
	return 1;
}

struct dist *
dist_open(int force, char *err, size_t errlen)
{
	struct dist *d = xcalloc(1, sizeof *d);
	int provided;

	d->size = 1;
	if (!force && dist_env_size() <= 1)
		return d;
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
		snprintf(err, errlen, "MPI_Init failed");
		free(d);
		return NULL;
	}
	d->mpi = 1;
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
	MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &d->size);
	return d;
}

void
dist_bcast(struct dist *d, void *buf, size_t n)
{
	const size_t chunk = (size_t)1 << 30;

	for (size_t off = 0; d->mpi && off < n; off += chunk)
		MPI_Bcast((char *)buf + off, (int)(n - off < chunk ? n - off : chunk), MPI_BYTE, 0,
		          MPI_COMM_WORLD);
}

void
dist_sum(struct dist *d, double *v, int n)
{
	if (d->mpi)
		MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

long long
dist_step_begin(struct dist *d, int n)
{
	long long all = n;

	if (d->mpi)
		MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
	d->scale = all > 0 ? (float)((double)n / (double)all) : 0;
	if (d->m && d->sync_bn)
		nn_set_bn_share(d->m, all > 0 ? (double)n / (double)all : 0);
	d->ready_lo = d->posted_lo = d->arena;
	d->t_first = 0;
	return all;
}

/* Scales gradients [lo, posted_lo) by this rank's share and posts their
 * sum over the ranks. */
static void
post(struct dist *d, float *g, size_t lo)
{
	MPI_Request *r;
	size_t n = d->posted_lo - lo;

	if (n == 0)
		return;
	if (d->dev) {           /* queued on the backend's stream */
		d->be->allreduce(d->be, g + lo, n, d->scale);
		d->st.reduce_bytes += (double)n * sizeof *g;
		d->posted_lo = lo;
		return;
	}
	if (d->be->sync)
		d->be->sync(d->be);
	for (size_t i = lo; i < d->posted_lo; i++)
		g[i] *= d->scale;
	if (d->nreq == d->capreq) {
		d->capreq = d->capreq ? 2 * d->capreq : 64;
		d->req = xreallocarray(d->req, (size_t)d->capreq, sizeof(MPI_Request));
	}
	r = (MPI_Request *)d->req + d->nreq++;
	MPI_Iallreduce(MPI_IN_PLACE, g + lo, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, r);
	d->st.reduce_bytes += (double)n * sizeof *g;
	d->posted_lo = lo;
}

static void
on_ready(void *ctx, float *g, size_t lo, size_t hi)
{
	struct dist *d = ctx;
	int flag;

	if (d->t_first == 0)
		d->t_first = now();
	if (lo < d->ready_lo)
		d->ready_lo = lo;
	if (d->bucket && (d->posted_lo - d->ready_lo) * sizeof *g >= d->bucket)
		post(d, g, d->ready_lo);
	else if (d->nreq)       /* MPI progresses only inside its calls */
		MPI_Testall(d->nreq, d->req, &flag, MPI_STATUSES_IGNORE);
}

static void
on_done(void *ctx, float *g, size_t n)
{
	struct dist *d = ctx;
	double t0;

	if (d->t_first == 0)
		d->t_first = now();
	post(d, g, 0);
	t0 = now();
	if (d->nreq)
		MPI_Waitall(d->nreq, d->req, MPI_STATUSES_IGNORE);
	d->nreq = 0;
	d->st.wait += now() - t0;
	d->st.backward += t0 - d->t_first;
	d->st.steps++;
}

/* The backend's communicator (NCCL), its id from rank 0 over MPI. */
static int
device_comm(struct dist *d, struct nn_backend *be, char *err, size_t errlen)
{
	char id[256];
	size_t len = 0;
	long long hdr[2] = { 0, 0 };

	if (d->rank == 0) {
		hdr[0] = be->comm_id(be, id, &len);
		hdr[1] = (long long)len;
		if (hdr[0] == 0 && len > sizeof id)
			hdr[0] = -1;
	}
	MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
	if (hdr[0] < 0) {
		snprintf(err, errlen, "rank 0: %s", d->rank == 0 && be->error(be) ?
		    be->error(be) : "no communicator id from the backend");
		return -1;
	}
	MPI_Bcast(id, (int)hdr[1], MPI_BYTE, 0, MPI_COMM_WORLD);
	if (be->comm_init(be, id, (size_t)hdr[1], d->rank, d->size) < 0) {
		snprintf(err, errlen, "rank %d: %s", d->rank, be->error(be) ? be->error(be) : "comm_init failed");
		return -1;
	}
	d->dev = 1;
	return 0;
}

static void
bn_sum(void *ctx, double *v, int n)
{
	dist_sum(ctx, v, n);
}

int
dist_attach(struct dist *d, struct nn_model *m, struct nn_backend *be, size_t bucket_bytes,
            char *err, size_t errlen)
{
	struct nn_grad_hook h = { on_ready, on_done, d };

	if (d->mpi && be->allreduce && device_comm(d, be, err, errlen) < 0)
		return -1;
	d->m = m;
	d->be = be;
	d->arena = nn_arena_size(m);
	d->bucket = bucket_bytes;
	if (d->mpi)
		nn_set_grad_hook(m, &h);
	return 0;
}

void
dist_sync_bn(struct dist *d, struct nn_model *m)
{
	d->sync_bn = d->mpi;
	if (d->sync_bn)
		nn_set_bn_sync(m, bn_sum, d, 1);
}

void
dist_abort(struct dist *d, int code)
{
	int fin = 0;

	if (d && d->mpi && MPI_Finalized(&fin) == MPI_SUCCESS && !fin)
		MPI_Abort(MPI_COMM_WORLD, code);
}

void
dist_close(struct dist *d)
{
	if (d == NULL)
		return;
	if (d->mpi)
		MPI_Finalize();
	free(d->req);
	free(d->buf);
	free(d);
}

#else /* no MPI: one process */

int
dist_built_with_mpi(void)
{
	return 0;
}

struct dist *
dist_open(int force, char *err, size_t errlen)
{
	int n = dist_env_size();

	if (force || n > 1) {
		snprintf(err, errlen, "%s, but this radpipe was built without MPI "
		    "(install libopenmpi-dev and rebuild)", force ? "--dist" :
		    "started by mpirun or srun as one of several tasks");
		return NULL;
	}
	struct dist *d = xcalloc(1, sizeof *d);
	d->size = 1;
	return d;
}

void dist_bcast(struct dist *d, void *buf, size_t n) { }
void dist_sum(struct dist *d, double *v, int n) { }

long long
dist_step_begin(struct dist *d, int n)
{
	return n;
}

int
dist_attach(struct dist *d, struct nn_model *m, struct nn_backend *be, size_t bucket_bytes,
            char *err, size_t errlen)
{
	d->m = m;
	d->be = be;
	d->arena = nn_arena_size(m);
	return 0;
}

void dist_sync_bn(struct dist *d, struct nn_model *m) { }

void dist_abort(struct dist *d, int code) { }

void
dist_close(struct dist *d)
{
	free(d);
}

#endif

/* Packs (out) or unpacks the parameters without gradients of m into
 * d->buf; returns their element count. */
static size_t
buffers_copy(struct dist *d, struct nn_model *m, int out)
{
	float *p = nn_backend_arena(m, 0);
	size_t k = 0;

	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *q = nn_param_at(m, i);
		if (q->trainable)
			continue;
		if (d->buf && out)
			d->be->download(d->be, d->buf + k, p + q->offset, q->size * sizeof *p);
		else if (d->buf)
			d->be->upload(d->be, p + q->offset, d->buf + k, q->size * sizeof *p);
		k += q->size;
	}
	return k;
}

void
dist_sync_buffers(struct dist *d, struct nn_model *m)
{
	size_t n;

	if (!d->mpi)
		return;
	if (d->buf == NULL) {
		if ((n = buffers_copy(d, m, 1)) == 0)
			return;
		d->buf = XNEW(float, n);
		d->nbuf = n;
	}
	if (d->rank == 0)
		buffers_copy(d, m, 1);
	dist_bcast(d, d->buf, d->nbuf * sizeof *d->buf);
	if (d->rank != 0)
		buffers_copy(d, m, 0);
}

int
dist_check_digest(struct dist *d, struct nn_model *m)
{
	char hex[65];

	if (nn_params_download(m) < 0)
		return -1;
	sha256_hex(nn_params_host(m), nn_arena_size(m) * sizeof(float), hex);
	fprintf(stderr, "nntrain: rank %d step %lld params sha256 %s\n", d->rank,
	    (long long)nn_step_count(m), hex);
	return 0;
}
