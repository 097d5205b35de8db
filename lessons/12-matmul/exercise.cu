// Lesson 12: matmul, three ways. Write the three kernels below; `scripts/lesson 12` tells you what
// is wrong. The launches are written for you: read them for the grid and block shapes. This file
// compiles with nvcc for a GPU and with the host compiler for the CPU emulation of CUDA.
#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson12 {

namespace {

__global__ void matmul_naive_kernel(float* C, const float* A, const float* B, int M, int N, int K) {
  // TODO: n (column) from the x indices, m (row) from the y indices; outside C, return; else
  // C[m * N + n] = sum over k of A[m * K + k] * B[k * N + n].
}

__global__ void matmul_shared_kernel(float* C, const float* A, const float* B, int M, int N,
                                     int K) {
  __shared__ float A_tile[kTile][kTile];
  __shared__ float B_tile[kTile][kTile];
  // TODO: for k0 = 0, kTile, ... < K:
  //   A_tile[ty][tx] = A[m, k0 + tx] and B_tile[ty][tx] = B[k0 + ty, n], or 0 outside A or B;
  //   __syncthreads();  sum += A_tile[ty][k] * B_tile[k][tx] for k < kTile;  __syncthreads();
  // then, inside C only, C[m, n] = sum. No early return: every thread must reach every barrier.
}

__global__ void matmul_registers_kernel(float* C, const float* A, const float* B, int M, int N,
                                        int K) {
  __shared__ float A_tile[kBlockM][kBlockK];
  __shared__ float B_tile[kBlockK][kBlockN];
  // TODO: tx = threadIdx.x % (kBlockN / kThreadN), ty = threadIdx.x / (kBlockN / kThreadN);
  // float acc[kThreadM][kThreadN] = {};  for k0 = 0, kBlockK, ... < K:
  //   the kThreads threads load A_tile (element e = threadIdx.x, + kThreads, ...: row e / kBlockK,
  //   column e % kBlockK) and B_tile likewise, 0 outside the matrices;  __syncthreads();
  //   for k < kBlockK: a[i] = A_tile[ty kThreadM + i][k], b[j] = B_tile[k][tx kThreadN + j],
  //   acc[i][j] += a[i] * b[j];  __syncthreads();
  // then write acc to C[m0 + ty kThreadM + i, n0 + tx kThreadN + j] where inside C.
}

int blocks_for(int n, int per_block) { return (n + per_block - 1) / per_block; }

}  // namespace

void matmul_naive(float* C, const float* A, const float* B, int M, int N, int K) {
  const dim3 grid(blocks_for(N, kTile), blocks_for(M, kTile));
  llm::cuda::launch(matmul_naive_kernel, grid, dim3(kTile, kTile), 0, nullptr, C, A, B, M, N, K);
}

void matmul_shared(float* C, const float* A, const float* B, int M, int N, int K) {
  const dim3 grid(blocks_for(N, kTile), blocks_for(M, kTile));
  llm::cuda::launch(matmul_shared_kernel, grid, dim3(kTile, kTile), 0, nullptr, C, A, B, M, N, K);
}

void matmul_registers(float* C, const float* A, const float* B, int M, int N, int K) {
  const dim3 grid(blocks_for(N, kBlockN), blocks_for(M, kBlockM));
  llm::cuda::launch(matmul_registers_kernel, grid, dim3(kThreads), 0, nullptr, C, A, B, M, N, K);
}

}  // namespace lesson12
