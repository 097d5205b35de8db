// Lesson 11, reference solution. There is no library twin for these kernels (the project's own,
// in kernels/, do the same things at bf16 and at scale: kernels/reduce.cu, kernels/classifier.cu's
// softmax); the tests compare them with the formulas on the CPU.
#include <cmath>

#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson11 {

namespace {

__global__ void add_kernel(float* out, const float* a, const float* b, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

__global__ void transpose_kernel(float* out, const float* in, int rows, int cols) {
  const int c = blockIdx.x * kTile + threadIdx.x;
  const int r = blockIdx.y * kTile + threadIdx.y;
  if (r < rows && c < cols) out[c * rows + r] = in[r * cols + c];
}

__global__ void block_sums_kernel(float* partial, const float* x, int n) {
  __shared__ float values[kBlock];
  const int t = threadIdx.x;
  const int i = blockIdx.x * kBlock + t;
  values[t] = i < n ? x[i] : 0.0f;  // the last block's threads past n add a neutral 0
  __syncthreads();                  // every load is done before any thread reads a neighbour's
  for (int half = kBlock / 2; half >= 32; half /= 2) {
    if (t < half) values[t] += values[t + half];
    __syncthreads();  // this step's sums are in place before the next step reads them
  }
  if (t < 32) {  // warp 0: its 32 lanes hold the last 32 values, one each
    float sum = values[t];
    for (int offset = 16; offset > 0; offset /= 2)
      sum += __shfl_xor_sync(0xffffffffu, sum, offset);  // lane t adds lane t ^ offset's value
    if (t == 0) partial[blockIdx.x] = sum;
  }
}

// exp(m_part - m) without the NaN of exp(-inf - -inf) when a part saw no value at all.
__device__ float rescale(float m_part, float m) {
  return m_part == -INFINITY ? 0.0f : expf(m_part - m);
}

constexpr int kWarpsPerBlock = 4;

__global__ void softmax_rows_kernel(float* out, const float* in, int rows, int cols) {
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= rows) return;  // a whole warp returns: no shuffle waits for it
  const float* x = in + row * cols;
  float m = -INFINITY, s = 0.0f;  // this lane's running maximum and sum of exp(x - m)
  for (int j = lane; j < cols; j += 32) {
    const float m_new = fmaxf(m, x[j]);
    s = s * rescale(m, m_new) + expf(x[j] - m_new);
    m = m_new;
  }
  for (int offset = 16; offset > 0; offset /= 2) {  // merge (m, s) with lane ^ offset's pair
    const float m_other = __shfl_xor_sync(0xffffffffu, m, offset);
    const float s_other = __shfl_xor_sync(0xffffffffu, s, offset);
    const float m_new = fmaxf(m, m_other);
    s = s * rescale(m, m_new) + s_other * rescale(m_other, m_new);
    m = m_new;
  }
  for (int j = lane; j < cols; j += 32) out[row * cols + j] = expf(x[j] - m) / s;
}

int blocks_for(int n, int per_block) { return (n + per_block - 1) / per_block; }

}  // namespace

void add(float* out, const float* a, const float* b, int n) {
  llm::cuda::launch(add_kernel, dim3(blocks_for(n, kBlock)), dim3(kBlock), 0, nullptr, out, a, b,
                    n);
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
