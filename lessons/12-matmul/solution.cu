// Lesson 12, reference solution. The project's own matmuls call cuBLASLt (kernels/matmul.cu), whose
// kernels are closed; these three are the classic steps towards one. The tests compare them with
// llm::cpu::matmul_forward.
#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson12 {

namespace {

__global__ void matmul_naive_kernel(float* C, const float* A, const float* B, int M, int N, int K) {
  const int n = blockIdx.x * kTile + threadIdx.x;
  const int m = blockIdx.y * kTile + threadIdx.y;
  if (m >= M || n >= N) return;
  float sum = 0.0f;
  for (int k = 0; k < K; k++) sum += A[m * K + k] * B[k * N + n];
  C[m * N + n] = sum;
}

__global__ void matmul_shared_kernel(float* C, const float* A, const float* B, int M, int N,
                                     int K) {
  __shared__ float A_tile[kTile][kTile];
  __shared__ float B_tile[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int n = blockIdx.x * kTile + tx;
  const int m = blockIdx.y * kTile + ty;
  float sum = 0.0f;
  for (int k0 = 0; k0 < K; k0 += kTile) {
    // Each thread loads one element of each tile; outside the matrices, a 0 adds nothing.
    A_tile[ty][tx] = (m < M && k0 + tx < K) ? A[m * K + k0 + tx] : 0.0f;
    B_tile[ty][tx] = (k0 + ty < K && n < N) ? B[(k0 + ty) * N + n] : 0.0f;
    __syncthreads();  // both tiles are complete before anyone reads them
    for (int k = 0; k < kTile; k++) sum += A_tile[ty][k] * B_tile[k][tx];
    __syncthreads();  // everyone is done with the tiles before the next step overwrites them
  }
  if (m < M && n < N) C[m * N + n] = sum;
}

__global__ void matmul_registers_kernel(float* C, const float* A, const float* B, int M, int N,
                                        int K) {
  __shared__ float A_tile[kBlockM][kBlockK];
  __shared__ float B_tile[kBlockK][kBlockN];
  // This thread's kThreadM x kThreadN sub-tile: rows m0 + ty kThreadM .., columns n0 + tx kThreadN
  // ..
  const int tx = threadIdx.x % (kBlockN / kThreadN);
  const int ty = threadIdx.x / (kBlockN / kThreadN);
  const int m0 = blockIdx.y * kBlockM, n0 = blockIdx.x * kBlockN;
  float acc[kThreadM][kThreadN] = {};
  for (int k0 = 0; k0 < K; k0 += kBlockK) {
    // The kThreads threads load the two tiles together, element e by thread e % kThreads.
    for (int e = threadIdx.x; e < kBlockM * kBlockK; e += kThreads) {
      const int r = e / kBlockK, k = e % kBlockK;
      A_tile[r][k] = (m0 + r < M && k0 + k < K) ? A[(m0 + r) * K + k0 + k] : 0.0f;
    }
    for (int e = threadIdx.x; e < kBlockK * kBlockN; e += kThreads) {
      const int k = e / kBlockN, c = e % kBlockN;
      B_tile[k][c] = (k0 + k < K && n0 + c < N) ? B[(k0 + k) * N + n0 + c] : 0.0f;
    }
    __syncthreads();
    for (int k = 0; k < kBlockK; k++) {
      float a[kThreadM], b[kThreadN];  // kThreadM + kThreadN loads for kThreadM * kThreadN FMAs
#pragma unroll
      for (int i = 0; i < kThreadM; i++) a[i] = A_tile[ty * kThreadM + i][k];
#pragma unroll
      for (int j = 0; j < kThreadN; j++) b[j] = B_tile[k][tx * kThreadN + j];
#pragma unroll
      for (int i = 0; i < kThreadM; i++)
#pragma unroll
        for (int j = 0; j < kThreadN; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < kThreadM; i++)
    for (int j = 0; j < kThreadN; j++) {
      const int m = m0 + ty * kThreadM + i, n = n0 + tx * kThreadN + j;
      if (m < M && n < N) C[m * N + n] = acc[i][j];
    }
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
