// Lesson 12: three classic matmul mistakes, planted, to show what the tests say about them. CI
// runs the tests on this file and checks that they fail with these messages
// (lessons/cuda_track.cmake, lesson_12_catches_*); run them yourself with
//   build/lessons/lesson_12_mistakes_test -tc="matmul_naive*"       (a wrong index)
//   build/lessons/lesson_12_mistakes_test -tc="matmul_shared*"      (loads past the ends)
//   build/lessons/lesson_12_mistakes_test -tc="matmul_registers*"   (a missing __syncthreads)
#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson12 {

namespace {

// MISTAKE: B is read as if it were stored transposed, (N, K), as the library's weights are: element
// (k, n) at n * K + k instead of k * N + n. Every read stays inside B (it has N * K elements), so
// no guard fires: every value of C is simply wrong.
__global__ void matmul_naive_kernel(float* C, const float* A, const float* B, int M, int N, int K) {
  const int n = blockIdx.x * kTile + threadIdx.x;
  const int m = blockIdx.y * kTile + threadIdx.y;
  if (m >= M || n >= N) return;
  float sum = 0.0f;
  for (int k = 0; k < K; k++) sum += A[m * K + k] * B[n * K + k];
  C[m * N + n] = sum;
}

// MISTAKE: the tiles are loaded without bounds checks, as if M, N and K were multiples of kTile.
// The last tiles read past the ends of A and B.
__global__ void matmul_shared_kernel(float* C, const float* A, const float* B, int M, int N,
                                     int K) {
  __shared__ float A_tile[kTile][kTile];
  __shared__ float B_tile[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int n = blockIdx.x * kTile + tx;
  const int m = blockIdx.y * kTile + ty;
  float sum = 0.0f;
  for (int k0 = 0; k0 < K; k0 += kTile) {
    A_tile[ty][tx] = A[m * K + k0 + tx];
    B_tile[ty][tx] = B[(k0 + ty) * N + n];
    __syncthreads();
    for (int k = 0; k < kTile; k++) sum += A_tile[ty][k] * B_tile[k][tx];
    __syncthreads();
  }
  if (m < M && n < N) C[m * N + n] = sum;
}

// MISTAKE: no __syncthreads() after the products. A fast thread loads the next step's tiles while
// slower ones still read this step's: they multiply a mix of two steps.
__global__ void matmul_registers_kernel(float* C, const float* A, const float* B, int M, int N,
                                        int K) {
  __shared__ float A_tile[kBlockM][kBlockK];
  __shared__ float B_tile[kBlockK][kBlockN];
  const int tx = threadIdx.x % (kBlockN / kThreadN);
  const int ty = threadIdx.x / (kBlockN / kThreadN);
  const int m0 = blockIdx.y * kBlockM, n0 = blockIdx.x * kBlockN;
  float acc[kThreadM][kThreadN] = {};
  for (int k0 = 0; k0 < K; k0 += kBlockK) {
    for (int e = threadIdx.x; e < kBlockM * kBlockK; e += kThreads) {
      const int r = e / kBlockK, k = e % kBlockK;
      A_tile[r][k] = (m0 + r < M && k0 + k < K) ? A[(m0 + r) * K + k0 + k] : 0.0f;
    }
    for (int e = threadIdx.x; e < kBlockK * kBlockN; e += kThreads) {
      const int k = e / kBlockN, c = e % kBlockN;
      B_tile[k][c] = (k0 + k < K && n0 + c < N) ? B[(k0 + k) * N + n0 + c] : 0.0f;
    }
    __syncthreads();
    for (int k = 0; k < kBlockK; k++)
      for (int i = 0; i < kThreadM; i++)
        for (int j = 0; j < kThreadN; j++)
          acc[i][j] += A_tile[ty * kThreadM + i][k] * B_tile[k][tx * kThreadN + j];
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
