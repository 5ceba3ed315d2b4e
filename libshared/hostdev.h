/* hostdev.h — RP_HD marks a function that host C and CUDA device code both
 * compile: __host__ __device__ under nvcc, nothing elsewhere (gcc, and the
 * host emulator of tests/gpu/emu).  For small static inline helpers shared
 * by libshared and libshared/nn/cuda, so that the math exists once. */
#ifndef RADPIPE_HOSTDEV_H
#define RADPIPE_HOSTDEV_H

#ifdef __CUDACC__
#define RP_HD __host__ __device__
#else
#define RP_HD
#endif

#endif
