// CudaBackend::classifier_forward: the fused output head (softmax + cross-entropy + its gradient),
// as llm.c's fused classifier. CPU twin: llm/backend/cpu/classifier.cpp.
//
// For a row z of V real logits (bf16, read as f32) and its target y:
//   max = max_j z_j,  sum = sum_j exp(z_j - max)               (max subtracted: no overflow)
//   loss = log(sum) - (z_y - max)                              (= -log softmax(z)_y)
//   dlogits_j = dloss * (exp(z_j - max) / sum - [j == y])      (= dloss * (p - onehot(y)))
// With dloss != 0 the dlogits overwrite the logits in place (bf16), so the (N, Vp) probabilities
// are never stored. The Vp - V padding columns are outside the softmax and get dlogits 0.
//
// One block per row, two passes over it:
//   1. each thread walks its share of the row keeping an online (running) max m and a sum s of
//      exp(z - m), rescaling s by exp(m_old - m_new) whenever a larger value arrives, so max and
//      sum come from a single read. Block reductions then give the row max, and the row sum after
//      each thread has rescaled its s to that max;
//   2. (only if dloss != 0) each thread reads its share again and writes the dlogits.
// The row is read in packs of 8 bf16 (one 16-byte load) when every row starts 16-byte aligned
// (Vp % 8 == 0 and an aligned base pointer, true for the model's Vp, a multiple of 128), and one
// element at a time otherwise. The reductions are fixed trees (warp butterflies, then one warp over
// the per-warp results), so the same logits give the same bits on every run.
#include <cfloat>
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::bf16;
using cuda::kWarpSize;
using cuda::Pack;

constexpr int kThreads = 512;  // per block (one block per row): a multiple of 32, at most 1024

// Reduces `value` over the whole block with `warp_reduce` (cuda::warp_max or cuda::warp_sum) in a
// fixed tree: a butterfly within each warp, then every warp reduces the per-warp results the same
// way, so every thread returns the same bits. `identity` fills the lanes beyond the warp count.
template <float (*warp_reduce)(float)> __device__ float block_reduce(float value, float identity) {
  __shared__ float warp_results[kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  value = warp_reduce(value);
  if (lane == 0) warp_results[warp] = value;
  __syncthreads();
  value = lane < int(blockDim.x / kWarpSize) ? warp_results[lane] : identity;
  value = warp_reduce(value);
  __syncthreads();  // all have read warp_results before a later call writes it again
  return value;
}

// W = 8: rows are 16-byte aligned and Vp % 8 == 0; W = 1: any layout.
template <int W>
__global__ void classifier_forward_kernel(float* losses,  // (N)
                                          bf16* logits,   // (N, Vp) in: logits, out: dlogits
                                          const int32_t* targets,  // (N)
                                          int V, int Vp, float dloss) {
  const int64_t row = blockIdx.x;
  bf16* z = logits + row * Vp;  // (Vp) this block's row
  const int y = targets[row];
  // The model checks targets on the host before copying them here; an out-of-range one still must
  // not read outside the row, so it gets a NaN loss (which the trainer reports) instead.
  const bool target_in_range = 0 <= y && y < V;
  // Read z[y] now: pass 2 overwrites the row, and it starts only after the barriers in the block
  // reductions below, which order this read before every thread's writes.
  const float target_logit = target_in_range ? __bfloat162float(z[y]) : NAN;

  // Pass 1: an online max and sum of exp(z - max) over this thread's packs. Packs wholly in the
  // padding are skipped; the elements j >= V of the last real pack are masked out.
  // The max starts at -FLT_MAX, not -inf, so a -inf logit adds exp(-inf - -FLT_MAX) = 0, not
  // exp(-inf - -inf) = NaN.
  float thread_max = -FLT_MAX, thread_sum = 0.0f;
  const int real_packs = int(cuda::ceil_div(V, W));
  for (int pack = threadIdx.x; pack < real_packs; pack += blockDim.x) {
    const Pack<bf16, W> in = *reinterpret_cast<const Pack<bf16, W>*>(z + pack * W);
    for (int k = 0; k < W; k++) {
      if (pack * W + k >= V) break;
      const float x = __bfloat162float(in.values[k]);
      if (x > thread_max) {  // a new max: rescale the sum so far to it
        thread_sum = thread_sum * expf(thread_max - x) + 1.0f;
        thread_max = x;
      } else {
        thread_sum += expf(x - thread_max);
      }
    }
  }
  const float row_max = block_reduce<cuda::warp_max>(thread_max, -FLT_MAX);
  // Every thread's sum relative to the row max, then the row sum (a thread with no elements has
  // thread_sum = 0 and adds nothing).
  const float row_sum = block_reduce<cuda::warp_sum>(thread_sum * expf(thread_max - row_max), 0.0f);
  if (threadIdx.x == 0) losses[row] = logf(row_sum) - (target_logit - row_max);
  if (dloss == 0.0f) return;

  // Pass 2: dlogits = (dloss / sum) * exp(z - max) - dloss [j == y], and 0 in the padding
  // (in the CPU twin's order of operations).
  const float dloss_over_sum = dloss / row_sum;
  for (int pack = threadIdx.x; pack < Vp / W; pack += blockDim.x) {
    Pack<bf16, W> inout = *reinterpret_cast<const Pack<bf16, W>*>(z + pack * W);
    for (int k = 0; k < W; k++) {
      const int j = pack * W + k;
      float dlogit = 0.0f;
      if (j < V) {
        dlogit = dloss_over_sum * expf(__bfloat162float(inout.values[k]) - row_max);
        if (j == y) dlogit -= dloss;
      }
      inout.values[k] = __float2bfloat16(dlogit);  // round to nearest even
    }
    *reinterpret_cast<Pack<bf16, W>*>(z + pack * W) = inout;
  }
}

}  // namespace

void CudaBackend::classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                                     double dloss) {
  check_classifier_forward(*this, losses, logits, targets, V, dloss);
  const int64_t N = logits.rows(), Vp = logits.last_dim();
  check(Vp <= INT_MAX, "classifier_forward: a row of " + std::to_string(Vp) +
                           " logits is too long (at most " + std::to_string(INT_MAX) + ")");
  // The targets are on the device, so unlike the CPU twin we cannot range-check them here without
  // a copy back; the model checks them on the host before copying (and the kernel is safe anyway).
  if (N == 0) return;

  // The rounding the CPU twin does too (static_cast<T>(dloss)), so a tiny dloss means forward only.
  const float dloss_f32 = static_cast<float>(dloss);
  float* loss_data = cuda::device_data<float>(losses);
  bf16* logit_data = cuda::device_data<bf16>(logits);
  const int32_t* target_data = cuda::device_data<int32_t>(targets);
  const unsigned blocks = unsigned(N);  // one per row
  constexpr int kPack = 16 / sizeof(bf16);
  const bool rows_aligned = Vp % kPack == 0 && reinterpret_cast<uintptr_t>(logits.data) % 16 == 0;
  if (rows_aligned) {
    cuda::launch(classifier_forward_kernel<kPack>, blocks, kThreads, 0, stream_, loss_data,
                 logit_data, target_data, V, int(Vp), dloss_f32);
  } else {
    cuda::launch(classifier_forward_kernel<1>, blocks, kThreads, 0, stream_, loss_data, logit_data,
                 target_data, V, int(Vp), dloss_f32);
  }
  cuda::check_launch();
}

}  // namespace llm
