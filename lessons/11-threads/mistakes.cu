// Lesson 11: the two classic mistakes, planted, to show what the tests say about them. CI runs the
// tests on this file and checks that they fail with these messages (lessons/CMakeLists.txt,
// lesson_11_catches_*); run them yourself with
//   build/lessons/lesson_11_mistakes_test -tc="add*"          (a write past the end)
//   build/lessons/lesson_11_mistakes_test -tc="block_sums*"   (a missing __syncthreads: a race)
// Only add and block_sums are planted; transpose and softmax_rows do nothing here.
#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson11 {

namespace {

// MISTAKE: no `if (i < n)`. The grid has whole blocks, so threads n .. 1023 of n = 1000 read past
// the ends of a and b and write past the end of out.
__global__ void add_kernel(float* out, const float* a, const float* b, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = a[i] + b[i];
}

// MISTAKE: no __syncthreads() between the loads and the first step. Thread t reads values[t + 128]
// while thread t + 128 may not have written it yet: on a GPU it reads a stale value sometimes,
// depending on which warp runs first.
__global__ void block_sums_kernel(float* partial, const float* x, int n) {
  __shared__ float values[kBlock];
  const int t = threadIdx.x;
  const int i = blockIdx.x * kBlock + t;
  values[t] = i < n ? x[i] : 0.0f;
  for (int half = kBlock / 2; half >= 32; half /= 2) {
    if (t < half) values[t] += values[t + half];
    __syncthreads();
  }
  if (t < 32) {
    float sum = values[t];
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (t == 0) partial[blockIdx.x] = sum;
  }
}

int blocks_for(int n, int per_block) { return (n + per_block - 1) / per_block; }

}  // namespace

void add(float* out, const float* a, const float* b, int n) {
  llm::cuda::launch(add_kernel, dim3(blocks_for(n, kBlock)), dim3(kBlock), 0, nullptr, out, a, b,
                    n);
}

void block_sums(float* partial, const float* x, int n) {
  llm::cuda::launch(block_sums_kernel, dim3(blocks_for(n, kBlock)), dim3(kBlock), 0, nullptr,
                    partial, x, n);
}

void transpose(float*, const float*, int, int) {}
void softmax_rows(float*, const float*, int, int) {}

}  // namespace lesson11
