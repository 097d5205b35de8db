// Lesson 13: the online softmax without its rescale, planted, to show what the tests say about it
// (a file of its own: mistakes.cu's kernel has no causal mask, which hides this one). CI runs the
// tests on this file and checks that they fail with this message (lessons/cuda_track.cmake,
// lesson_13_catches_missing_rescale); run them yourself with
//   build/lessons/lesson_13_mistakes_rescale_test
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
  const int64_t head = int64_t(blockIdx.y) * T * hs;  // the first element of head (b, h)
  const int first_query = blockIdx.x * kQueryRows;
  const int i = first_query + threadIdx.x;  // this thread's query row
  const bool is_row =
      i < T;  // rows past T compute along (they meet the barriers) but write nothing
  const float scale = 1.0f / sqrtf(float(hs));

  float q_row[kMaxHeadSize], acc[kMaxHeadSize];
  for (int d = 0; d < hs; d++) {
    q_row[d] = is_row ? q[head + int64_t(i) * hs + d] : 0.0f;
    acc[d] = 0.0f;
  }
  float running_max = -INFINITY, running_sum = 0.0f;

  // Causal: the block's last row sees keys 0 .. last_query; the tiles stop there.
  const int last_query = min(T, first_query + kQueryRows) - 1;
  for (int first_key = 0; first_key <= last_query; first_key += kKeyTile) {
    // The block stages the tile's keys and values, zeros past T.
    for (int e = threadIdx.x; e < kKeyTile * hs; e += kQueryRows) {
      const int j = e / hs, d = e % hs;
      const bool in_range = first_key + j < T;
      k_tile[j][d] = in_range ? k[head + int64_t(first_key + j) * hs + d] : 0.0f;
      v_tile[j][d] = in_range ? v[head + int64_t(first_key + j) * hs + d] : 0.0f;
    }
    __syncthreads();  // the tile is complete

    // The tile's scores; keys after row i (the future, and keys past T) are masked to -inf.
    float score[kKeyTile];
    float tile_max = -INFINITY;
    for (int j = 0; j < kKeyTile; j++) {
      float dot = 0.0f;
      for (int d = 0; d < hs; d++) dot += q_row[d] * k_tile[j][d];
      score[j] = first_key + j <= i ? dot * scale : -INFINITY;
      tile_max = fmaxf(tile_max, score[j]);
    }
    // MISTAKE: running_sum and acc are not multiplied by exp(running_max - new_max). They hold
    // terms exp(score - running_max); after this tile they are read as if relative to new_max, so
    // a row whose maximum rises in a later tile weighs its earlier keys too much. The rows of the
    // first query block see one key tile and stay right.
    const float new_max = fmaxf(running_max, tile_max);
    for (int j = 0; j < kKeyTile; j++) {
      const float p = expf(score[j] - new_max);  // 0 for masked keys
      running_sum += p;
      for (int d = 0; d < hs; d++) acc[d] += p * v_tile[j][d];
    }
    running_max = new_max;
    __syncthreads();  // everyone is done with the tile before the next one overwrites it
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
