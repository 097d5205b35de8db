// Lesson 13: two classic flash-attention mistakes, planted, to show what the tests say about them.
// CI runs the tests on this file and checks that they fail with these messages
// (lessons/cuda_track.cmake, lesson_13_catches_*); run them yourself with
//   build/lessons/lesson_13_mistakes_test
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/launch.cuh"
#include "lesson.hpp"

namespace lesson13 {

namespace {

// MISTAKE 1: no __syncthreads() at the end of a tile. A thread that finishes early stages the next
// tile's keys while others still read this tile's: a race on k_tile and v_tile.
// MISTAKE 2: no causal mask: every key of a tile up to T is scored, so the rows of the diagonal
// tile attend to keys after them (the future).
__global__ void flash_forward_kernel(float* out, float* lse, const float* q, const float* k,
                                     const float* v, int T, int hs) {
  __shared__ float k_tile[kKeyTile][kMaxHeadSize];
  __shared__ float v_tile[kKeyTile][kMaxHeadSize];
  const int64_t head = int64_t(blockIdx.y) * T * hs;
  const int first_query = blockIdx.x * kQueryRows;
  const int i = first_query + threadIdx.x;
  const bool is_row = i < T;
  const float scale = 1.0f / sqrtf(float(hs));
  float q_row[kMaxHeadSize], acc[kMaxHeadSize];
  for (int d = 0; d < hs; d++) {
    q_row[d] = is_row ? q[head + int64_t(i) * hs + d] : 0.0f;
    acc[d] = 0.0f;
  }
  float running_max = -INFINITY, running_sum = 0.0f;
  const int last_query = min(T, first_query + kQueryRows) - 1;
  for (int first_key = 0; first_key <= last_query; first_key += kKeyTile) {
    for (int e = threadIdx.x; e < kKeyTile * hs; e += kQueryRows) {
      const int j = e / hs, d = e % hs;
      const bool in_range = first_key + j < T;
      k_tile[j][d] = in_range ? k[head + int64_t(first_key + j) * hs + d] : 0.0f;
      v_tile[j][d] = in_range ? v[head + int64_t(first_key + j) * hs + d] : 0.0f;
    }
    __syncthreads();
    float score[kKeyTile];
    float tile_max = -INFINITY;
    for (int j = 0; j < kKeyTile; j++) {
      float dot = 0.0f;
      for (int d = 0; d < hs; d++) dot += q_row[d] * k_tile[j][d];
      score[j] = first_key + j < T ? dot * scale : -INFINITY;  // MISTAKE 2: not `<= i`
      tile_max = fmaxf(tile_max, score[j]);
    }
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = expf(running_max - new_max);
    running_sum *= correction;
    for (int d = 0; d < hs; d++) acc[d] *= correction;
    for (int j = 0; j < kKeyTile; j++) {
      const float p = expf(score[j] - new_max);
      running_sum += p;
      for (int d = 0; d < hs; d++) acc[d] += p * v_tile[j][d];
    }
    running_max = new_max;
    // MISTAKE 1: the __syncthreads() that belongs here is missing.
  }
  if (is_row) {
    for (int d = 0; d < hs; d++) out[head + int64_t(i) * hs + d] = acc[d] / running_sum;
    lse[int64_t(blockIdx.y) * T + i] = running_max + logf(running_sum);
  }
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
