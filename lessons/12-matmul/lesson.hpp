#pragma once
// Lesson 12: matrix multiplication on a GPU, three ways. The functions you write in exercise.cu,
// each launching a kernel you also write there. All three compute, in float,
//   C = A B:   C[m, n] = sum_k A[m, k] B[k, n]     A (M, K), B (K, N), C (M, N), row-major,
// for any M, N, K >= 1 (not only multiples of the tiles). Every pointer is DEVICE memory.

namespace lesson12 {

// ---- 1. naive: one thread per element of C ----
// kTile x kTile blocks; the thread's column n = blockIdx.x * kTile + threadIdx.x, its row
// m = blockIdx.y * kTile + threadIdx.y; it loops over k reading A and B from global memory.
constexpr int kTile = 16;
void matmul_naive(float* C, const float* A, const float* B, int M, int N, int K);

// ---- 2. shared-memory tiles ----
// Same grid and threads. The block walks k in steps of kTile: its threads load a kTile x kTile tile
// of A and one of B into __shared__ arrays (one element each, 0 outside the matrices),
// __syncthreads(), each thread adds its kTile products from the tiles, __syncthreads() again
// before the tiles are overwritten.
void matmul_shared(float* C, const float* A, const float* B, int M, int N, int K);

// ---- 3. register tiles ----
// A block computes a kBlockM x kBlockN tile of C with kThreads threads, each thread a kThreadM x
// kThreadN sub-tile held in registers. The block walks k in steps of kBlockK, staging a
// kBlockM x kBlockK tile of A and a kBlockK x kBlockN tile of B in shared memory; for each k of the
// step a thread reads kThreadM values of A and kThreadN of B into registers and does all
// kThreadM * kThreadN products with them.
constexpr int kBlockM = 64, kBlockN = 64, kBlockK = 8;
constexpr int kThreadM = 4, kThreadN = 4;
constexpr int kThreads = (kBlockM / kThreadM) * (kBlockN / kThreadN);  // 256
void matmul_registers(float* C, const float* A, const float* B, int M, int N, int K);

}  // namespace lesson12
