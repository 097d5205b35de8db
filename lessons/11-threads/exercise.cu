// Lesson 11: threads and memory. Write the kernels below (and the one missing grid size);
// `scripts/lesson 11` tells you what is wrong. The order of the tests is the order to write them
// in. This file is CUDA: nvcc compiles it for a GPU, and the host compiler compiles it for the CPU
// emulation (kernels/emulation/), so use only what both know: __global__, __shared__,
// __syncthreads(), __shfl_xor_sync(0xffffffffu, ...), threadIdx / blockIdx / blockDim, expf, fmaxf.
#include <cmath>

#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson11 {

namespace {

__global__ void add_kernel(float* out, const float* a, const float* b, int n) {
  // TODO: this thread's element i from blockIdx, blockDim and threadIdx; out[i] = a[i] + b[i], but
  // only where i < n (the last block has threads past the end).
}

__global__ void transpose_kernel(float* out, const float* in, int rows, int cols) {
  // TODO: column c from the x indices, row r from the y indices (lesson.hpp); inside the matrix,
  // out[c * rows + r] = in[r * cols + c].
}

__global__ void block_sums_kernel(float* partial, const float* x, int n) {
  __shared__ float values[kBlock];
  // TODO: 1. values[threadIdx.x] = x[i], or 0 past n;  __syncthreads();
  //       2. for half = kBlock / 2 down to 32: threads below half add values[t + half] into
  //          values[t];  __syncthreads() after each step;
  //       3. threads t < 32 (warp 0): sum = values[t]; for offset = 16, 8, 4, 2, 1:
  //          sum += __shfl_xor_sync(0xffffffffu, sum, offset); lane 0 writes partial[blockIdx.x].
}

constexpr int kWarpsPerBlock = 4;

__global__ void softmax_rows_kernel(float* out, const float* in, int rows, int cols) {
  // TODO: lane = threadIdx.x % 32, row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32 (a warp
  // whose row is past the end returns). Per lane, the online pass over columns lane, lane + 32,
  // ...:
  //   m_new = fmaxf(m, x);  s = s * exp(m - m_new) + exp(x - m_new);  m = m_new   (m = -INFINITY,
  //   s = 0 at first). Merge the lanes' (m, s) with __shfl_xor_sync at offsets 16 .. 1 the same
  //   way. Careful: exp(m - m_new) with m = m_new = -INFINITY is NaN; a lane that saw no column
  //   (cols < 32) has m = -INFINITY and must contribute 0. Then out = exp(x - m) / s.
}

int blocks_for(int n, int per_block) { return (n + per_block - 1) / per_block; }

}  // namespace

void add(float* out, const float* a, const float* b, int n) {
  const int blocks = 1;  // TODO: enough blocks of kBlock threads to cover n elements
  llm::cuda::launch(add_kernel, dim3(blocks), dim3(kBlock), 0, nullptr, out, a, b, n);
}

void transpose(float* out, const float* in, int rows, int cols) {
  const dim3 grid(blocks_for(cols, kTile), blocks_for(rows, kTile));
  llm::cuda::launch(transpose_kernel, grid, dim3(kTile, kTile), 0, nullptr, out, in, rows, cols);
}

void block_sums(float* partial, const float* x, int n) {
  llm::cuda::launch(block_sums_kernel, dim3(blocks_for(n, kBlock)), dim3(kBlock), 0, nullptr,
                    partial, x, n);
}

void softmax_rows(float* out, const float* in, int rows, int cols) {
  llm::cuda::launch(softmax_rows_kernel, dim3(blocks_for(rows, kWarpsPerBlock)),
                    dim3(32 * kWarpsPerBlock), 0, nullptr, out, in, rows, cols);
}

}  // namespace lesson11
