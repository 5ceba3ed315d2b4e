/* bench_allreduce.c — MPI_Allreduce of N floats (default InceptionV3's
 * 21.8 M parameters, 87 MB), summed in place, REPS times after a warm-up:
 * prints seconds per all-reduce and the algorithm bandwidth (bytes / s)
 * and bus bandwidth (x 2(S-1)/S, NCCL's convention) on rank 0.
 *   mpirun -np 2 bench_allreduce [N [REPS]]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 21802784;
	int reps = argc > 2 ? atoi(argv[2]) : 5, rank, size;
	float *g;
	double t0, t;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (n <= 0 || n > 1 << 30 || reps <= 0 || (g = malloc((size_t)n * sizeof *g)) == NULL) {
		fprintf(stderr, "bench_allreduce: bad size or out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	for (long i = 0; i < n; i++)
		g[i] = (float)(i % 7) * 0.25f;
	MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (int r = 0; r < reps; r++)
		MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	t = (MPI_Wtime() - t0) / reps;
	if (rank == 0)
		printf("ranks %d floats %ld bytes %.1f MB: %.4f s per all-reduce, algbw %.2f GB/s, "
		    "busbw %.2f GB/s\n", size, n, n * 4 / 1e6, t, n * 4 / t / 1e9,
		    n * 4 / t / 1e9 * 2 * (size - 1) / size);
	free(g);
	MPI_Finalize();
	return 0;
}
