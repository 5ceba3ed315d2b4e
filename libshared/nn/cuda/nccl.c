/* nccl.c — the gradient all-reduce across ranks on the device with NCCL
 * (backend.h: comm_id, comm_init, allreduce), for data-parallel nntrain:
 * libshared/nn/dist bootstraps the communicator over MPI (rank 0's
 * ncclGetUniqueId, MPI_Bcast) and calls allreduce per gradient bucket.
 * Each rank's share of the step's images is applied inside the reduction
 * (ncclRedOpCreatePreMulSum), so no kernel of ours scales the gradients.
 * The reduction is queued on the backend's stream, after backward's ops
 * and before the optimiser's.  Optional like cuDNN's extras: mk/cuda.mk
 * defines RADPIPE_NCCL and links -lnccl when the toolkit has nccl.h;
 * without, the ops fail with a message.  Calls only util.c (cu_fail).
 */
#include <string.h>

#include "cuda_impl.h"

#ifdef RADPIPE_NCCL
#include <nccl.h>

int
cu_comm_id(struct nn_backend *be, void *id, size_t *len)
{
	ncclUniqueId u;
	ncclResult_t r = ncclGetUniqueId(&u);

	if (r != ncclSuccess) {
		cu_fail(cu_st(be), "cuda: ncclGetUniqueId: %s", ncclGetErrorString(r));
		return -1;
	}
	memcpy(id, &u, sizeof u);
	*len = sizeof u;
	return 0;
}

int
cu_comm_init(struct nn_backend *be, const void *id, size_t len, int rank, int size)
{
	struct cu_state *st = cu_st(be);
	ncclUniqueId u;
	ncclComm_t c;
	ncclResult_t r;

	if (len != sizeof u) {
		cu_fail(st, "cuda: NCCL id of %zu bytes, expected %zu (mixed NCCL versions?)",
		        len, sizeof u);
		return -1;
	}
	memcpy(&u, id, sizeof u);
	cudaSetDevice(st->device);
	if ((r = ncclCommInitRank(&c, size, u, rank)) != ncclSuccess) {
		cu_fail(st, "cuda: ncclCommInitRank (rank %d of %d): %s", rank, size,
		        ncclGetErrorString(r));
		return -1;
	}
	st->nccl = c;
	return 0;
}

void
cu_allreduce(struct nn_backend *be, float *p, size_t n, float scale)
{
	struct cu_state *st = cu_st(be);
	ncclComm_t c = st->nccl;
	ncclRedOp_t op;
	ncclResult_t r;

	if (c == NULL) {
		cu_fail(st, "cuda: allreduce before comm_init");
		return;
	}
	r = ncclRedOpCreatePreMulSum(&op, &scale, ncclFloat32, ncclScalarHostImmediate, c);
	if (r == ncclSuccess) {
		r = ncclAllReduce(p, p, n, ncclFloat32, op, c, st->stream);
		ncclRedOpDestroy(op, c);
	}
	if (r != ncclSuccess)
		cu_fail(st, "cuda: ncclAllReduce of %zu floats: %s", n, ncclGetErrorString(r));
}

void
cu_nccl_free(struct cu_state *st)
{
	if (st->nccl)
		ncclCommDestroy((ncclComm_t)st->nccl);
	st->nccl = NULL;
}

#else /* built without nccl.h */

int
cu_comm_id(struct nn_backend *be, void *id, size_t *len)
{
	cu_fail(cu_st(be), "cuda: libradpipe_cuda.so was built without NCCL (no nccl.h in the "
	        "CUDA installation): no data-parallel training on cuda");
	return -1;
}

int
cu_comm_init(struct nn_backend *be, const void *id, size_t len, int rank, int size)
{
	return cu_comm_id(be, NULL, NULL);
}

void
cu_allreduce(struct nn_backend *be, float *p, size_t n, float scale)
{
	cu_comm_id(be, NULL, NULL);
}

void
cu_nccl_free(struct cu_state *st)
{
}

#endif
