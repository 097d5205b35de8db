// CudaBackend::sum_of_squares: sum_i x_i^2 over a whole tensor (bf16 gradients or f32 master
// weights), for global-norm gradient clipping. CPU twin: llm/backend/cpu/reduce.cpp.
//
// Deterministic in two passes, with no atomics:
//   1. a fixed grid of 2 * sm_count blocks walks the tensor with a grid-stride loop; each thread
//      adds the squares of its elements in double (a tensor has up to ~10^8 of them: an f32 sum
//      would lose digits), then the block sums its threads in a fixed tree and writes one partial;
//   2. one block adds the partials in a fixed order and writes the total.
// The grid depends only on the GPU, so the same tensor gives the same bits on every call. The
// total is copied into pinned host memory on the stream, which is then waited for.
// Elements are read in 16-byte packs (8 bf16 or 4 f32) when the tensor starts 16-byte aligned,
// one at a time otherwise; the last, partial pack is read element by element.
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

constexpr int kThreads = 256;  // per block, in both passes: a multiple of 32

__device__ inline double square(float x) { return double(x) * double(x); }
__device__ inline double square(bf16 x) { return square(__bfloat162float(x)); }

// The sum over the block in a fixed tree (butterflies within each warp, then warp 0 over the
// per-warp sums); the result is valid in thread 0.
__device__ double block_sum(double value) {
  __shared__ double warp_sums[kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < int(blockDim.x / kWarpSize) ? warp_sums[lane] : 0.0;
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
      value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

// Pass 1: block_sums[b] = the sum of squares of the elements block b visits.
// W = 16 / sizeof(T) when x is 16-byte aligned, 1 otherwise.
template <typename T, int W>
__global__ void sum_of_squares_partials_kernel(double* block_sums,  // (gridDim.x)
                                               const T* x,          // (n)
                                               int64_t n) {
  const int64_t packs = cuda::ceil_div(n, W);
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  double sum = 0.0;
  for (int64_t pack = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; pack < packs;
       pack += stride) {
    const int64_t start = pack * W;
    if (start + W <= n) {
      const Pack<T, W> in = *reinterpret_cast<const Pack<T, W>*>(x + start);
      for (int k = 0; k < W; k++) sum += square(in.values[k]);
    } else {  // the last, partial pack
      for (int64_t i = start; i < n; i++) sum += square(x[i]);
    }
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) block_sums[blockIdx.x] = sum;
}

// Pass 2 (one block): *total = the sum of the num_blocks partials, in a fixed order.
__global__ void sum_partials_kernel(double* total, const double* block_sums, int num_blocks) {
  double sum = 0.0;
  for (int b = threadIdx.x; b < num_blocks; b += blockDim.x) sum += block_sums[b];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *total = sum;
}

// Queues pass 1 with 16-byte packs if x allows them.
template <typename T>
void launch_partials(double* block_sums, int num_blocks, const Tensor& x, cudaStream_t stream) {
  constexpr int kPack = 16 / sizeof(T);
  const T* data = cuda::device_data<T>(x);
  if (reinterpret_cast<uintptr_t>(x.data) % 16 == 0) {
    cuda::launch(sum_of_squares_partials_kernel<T, kPack>, num_blocks, kThreads, 0, stream,
                 block_sums, data, x.numel());
  } else {
    cuda::launch(sum_of_squares_partials_kernel<T, 1>, num_blocks, kThreads, 0, stream, block_sums,
                 data, x.numel());
  }
  cuda::check_launch();
}

}  // namespace

double CudaBackend::sum_of_squares(Tensor t) {
  check_sum_of_squares(*this, t);  // bf16 (gradients) or f32 (master weights)
  if (t.numel() == 0) return 0.0;

  // Per-block partials, then the total after them.
  const int num_blocks = 2 * sm_count();
  double* block_sums =
      static_cast<double*>(reduce_scratch_.get(size_t(num_blocks + 1) * sizeof(double)));
  double* total = block_sums + num_blocks;
  if (t.dtype == DType::bf16) {
    launch_partials<bf16>(block_sums, num_blocks, t, stream_);
  } else {
    launch_partials<float>(block_sums, num_blocks, t, stream_);
  }
  cuda::launch(sum_partials_kernel, 1, kThreads, 0, stream_, total, block_sums, num_blocks);
  cuda::check_launch();
  cuda::cuda_check(
      cudaMemcpyAsync(host_result_, total, sizeof(double), cudaMemcpyDeviceToHost, stream_));
  cuda::cuda_check(cudaStreamSynchronize(stream_));
  return *host_result_;
}

}  // namespace llm
