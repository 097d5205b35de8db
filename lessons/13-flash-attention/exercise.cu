// Lesson 13: the causal flash-attention forward. Write the kernel below; `scripts/lesson 13` tells
// you what is wrong. The launch is written for you. This file compiles with nvcc for a GPU and with
// the host compiler for the CPU emulation of CUDA.
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson13 {

namespace {

__global__ void flash_forward_kernel(float* out, float* lse, const float* q, const float* k,
                                     const float* v, int T, int hs) {
  __shared__ float k_tile[kKeyTile][kMaxHeadSize];
  __shared__ float v_tile[kKeyTile][kMaxHeadSize];
  // TODO, for head blockIdx.y (its rows start at blockIdx.y * T * hs) and query row
  // i = blockIdx.x * kQueryRows + threadIdx.x:
  //   1. q_row[d] = q[i, d] (0 for a row past T: it computes along, meets the barriers, writes
  //      nothing); acc[d] = 0; running_max = -INFINITY; running_sum = 0.
  //   2. For first_key = 0, kKeyTile, ... up to the block's last row (causal):
  //      stage k and v rows first_key .. first_key + kKeyTile - 1 into the tiles (zeros past T),
  //      the block's threads sharing the kKeyTile * hs elements;  __syncthreads();
  //      score[j] = q_row . k_tile[j] / sqrt(hs) for keys first_key + j <= i, else -INFINITY;
  //      new_max = max(running_max, max_j score[j]);  correction = exp(running_max - new_max);
  //      running_sum = running_sum * correction + sum_j exp(score[j] - new_max);
  //      acc = acc * correction + sum_j exp(score[j] - new_max) v_tile[j];
  //      running_max = new_max;  __syncthreads();
  //   3. For a row inside T: out[i, :] = acc / running_sum; lse[i] = running_max +
  //   log(running_sum).
}

}  // namespace

void flash_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                             int B, int NH, int T, int hs) {
  if (hs < 1 || hs > kMaxHeadSize)
    throw std::invalid_argument("flash_attention_forward: head size " + std::to_string(hs) +
                                " is outside [1, " + std::to_string(kMaxHeadSize) + "]");
  const dim3 grid((T + kQueryRows - 1) / kQueryRows, B * NH);
  llm::cuda::launch(flash_forward_kernel, grid, dim3(kQueryRows), 0, nullptr, out, lse, q, k, v, T,
                    hs);
}

}  // namespace lesson13
