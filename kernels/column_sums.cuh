#pragma once
// defines: llm::cuda::add_norm_param_grads, the gain (and bias) gradients of a normalisation over
// the last dimension, as deterministic sums over the rows. Used by layernorm.cu and rmsnorm.cu.
//
// With xhat[n,c] = (inp[n,c] - shift[n]) * rstd[n] (layernorm: shift = mean; RMSNorm: no shift):
//   dweight[c] += sum_n dout[n,c] * xhat[n,c]
//   dbias[c]   += sum_n dout[n,c]                 (layernorm only; RMSNorm has no bias)
//
// A sum over all N rows in a fixed order, so the bits do not depend on timing (no float atomics):
// the rows are cut into `chunks` consecutive ranges; a first kernel has one thread per (W channels,
// chunk) sum its chunk's rows in row order into f32 partials (chunks, C); a second kernel sums the
// partials of each channel in a fixed order and adds the total into the bf16 gradient. The chunk
// count depends only on N, C and the SM count, so the order is the same on every run.
//
// Everything here sits in an unnamed namespace: each kernel file that includes it gets its own copy
// of these kernels, as if written in it.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm::cuda {
namespace {

constexpr int kColumnPartialThreads = 128;    // partials: threads per block
constexpr int kColumnPartialBlocksPerSM = 8;  // ... and about this many blocks per SM
constexpr int kColumnReduceWarps = 8;         // final sum: warps per block

// Thread (W channels from c, chunk blockIdx.y): sums dout * xhat (and dout) over the chunk's rows,
// in row order, and writes the f32 partials of its chunk. shift may be null (0); partial_dbias is
// null when there is no bias.
template <int W> __global__ void column_partials_kernel(float* partial_dweight,  // (chunks, C)
                                                        float* partial_dbias,    // (chunks, C)
                                                        const bf16* dout,        // (N, C)
                                                        const bf16* inp,         // (N, C)
                                                        const float* shift,      // (N) or null
                                                        const float* rstd,       // (N)
                                                        int64_t N, int C, int64_t rows_per_chunk) {
  const int c = (blockIdx.x * blockDim.x + threadIdx.x) * W;
  if (c >= C) return;
  const int64_t chunk = blockIdx.y;
  const int64_t first_row = chunk * rows_per_chunk;
  const int64_t end_row = std::min(N, first_row + rows_per_chunk);

  float dweight[W] = {}, dbias[W] = {};
  for (int64_t row = first_row; row < end_row; row++) {
    float dyv[W], xv[W];
    load_f32(dyv, dout + row * C + c);
    load_f32(xv, inp + row * C + c);
    const float m = shift ? shift[row] : 0.0f, s = rstd[row];
#pragma unroll
    for (int k = 0; k < W; k++) {
      dweight[k] += dyv[k] * (xv[k] - m) * s;
      dbias[k] += dyv[k];
    }
  }
#pragma unroll
  for (int k = 0; k < W; k++) {
    partial_dweight[chunk * C + c + k] = dweight[k];
    if (partial_dbias) partial_dbias[chunk * C + c + k] = dbias[k];
  }
}

// Block: kColumnReduceWarps warps over 32 consecutive channels, lane = channel (so each read of a
// row of partials is one coalesced 128-byte line). Warp w sums chunks w, w + kColumnReduceWarps,
// ... in order; then warp 0 sums the warps' results in warp order and adds the total into grad.
__global__ void column_sum_kernel(bf16* grad,             // (C)
                                  const float* partials,  // (chunks, C)
                                  int chunks, int C) {
  __shared__ float warp_sums[kColumnReduceWarps][kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int c = blockIdx.x * kWarpSize + lane;
  float sum = 0.0f;
  if (c < C)
    for (int chunk = warp; chunk < chunks; chunk += kColumnReduceWarps)
      sum += partials[int64_t(chunk) * C + c];
  warp_sums[warp][lane] = sum;
  __syncthreads();
  if (warp == 0 && c < C) {
    float total = 0.0f;
    for (int w = 0; w < kColumnReduceWarps; w++) total += warp_sums[w][lane];
    grad[c] = __float2bfloat16(__bfloat162float(grad[c]) + total);
  }
}

// dweight (C) += sum_n dout * xhat, and dbias (C) += sum_n dout unless dbias is null. W channels
// per thread: C % W == 0 and dout, inp 16-byte aligned when W = 8.
template <int W> void add_norm_param_grads(cudaStream_t stream, int sm_count, DeviceBuffer& scratch,
                                           bf16* dweight, bf16* dbias, const bf16* dout,
                                           const bf16* inp, const float* shift, const float* rstd,
                                           int64_t N, int C) {
  // Enough chunks that the partials kernel has about kColumnPartialBlocksPerSM blocks per SM, every
  // chunk non-empty (chunks <= N).
  const int column_blocks = int(ceil_div(C / W, kColumnPartialThreads));
  const int64_t target_chunks =
      ceil_div(int64_t(kColumnPartialBlocksPerSM) * sm_count, column_blocks);
  const int64_t rows_per_chunk = ceil_div(N, std::min(N, target_chunks));
  const int chunks = int(ceil_div(N, rows_per_chunk));
  const int sums = dbias ? 2 : 1;
  float* partial_dweight =
      static_cast<float*>(scratch.get(size_t(sums) * size_t(chunks) * C * sizeof(float)));
  float* partial_dbias = dbias ? partial_dweight + size_t(chunks) * C : nullptr;

  launch(column_partials_kernel<W>, dim3(column_blocks, chunks), kColumnPartialThreads, 0, stream,
         partial_dweight, partial_dbias, dout, inp, shift, rstd, N, C, rows_per_chunk);
  check_launch();
  const unsigned sum_blocks = unsigned(ceil_div(C, kWarpSize));
  launch(column_sum_kernel, sum_blocks, kColumnReduceWarps * kWarpSize, 0, stream, dweight,
         partial_dweight, chunks, C);
  check_launch();
  if (dbias) {
    launch(column_sum_kernel, sum_blocks, kColumnReduceWarps * kWarpSize, 0, stream, dbias,
           partial_dbias, chunks, C);
    check_launch();
  }
}

}  // namespace
}  // namespace llm::cuda
