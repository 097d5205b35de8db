// CudaBackend::rmsnorm_forward, rmsnorm_backward: RMSNorm over the last dimension (Zhang & Sennrich
// 2019; Llama). CPU twin: llm/backend/cpu/rmsnorm.cpp.
//
// Forward, per row x of C values:
//   rstd = 1 / sqrt(1/C sum_c x[c]^2 + eps),   xhat = x * rstd,   out = xhat * weight
// Backward, with g = dout * weight (the gradient reaching xhat). xhat = x * rstd(x), and
// d rstd / d x[c] = -rstd^3 x[c] / C, so
//   dinp    += rstd * (g - xhat * mean_c(g * xhat))
//   dweight += sum_n dout * xhat
// (layernorm's formula without the mean terms: there is no mean to subtract).
//
// Kernels (bf16 in and out, every sum in f32, rstd f32), as layernorm.cu's:
// - forward, and the dinp part of the backward: one warp per row, 8 rows per block; the warp walks
//   its row twice (a sum, then the output).
// - dweight: a deterministic sum over the N rows, kernels/column_sums.cuh (shared with
//   layernorm.cu), with per-chunk f32 partials in norm_scratch_.
// Rows are read in packs of W = 8 bf16 (one 16-byte load) when C % 8 == 0 and every row pointer is
// 16-byte aligned, else W = 1. Any C >= 1 and N >= 1 work.
#include <cstdint>
#include <initializer_list>

#include "kernels/column_sums.cuh"
#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::aligned_16;
using cuda::bf16;
using cuda::kWarpSize;
using cuda::load_f32;
using cuda::store_bf16;
using cuda::warp_sum;

constexpr int kPackWidth = 8;     // bf16 per 16-byte pack
constexpr int kRowsPerBlock = 8;  // warp-per-row kernels: 8 warps, 256 threads per block

// Lane l of a warp handles the packs starting at channels l*W, l*W + 32*W, ... of its row (C is a
// multiple of W), so each step of the warp reads 32 consecutive packs.

template <int W> __global__ void rmsnorm_forward_kernel(bf16* out,           // (N, C)
                                                        float* rstd,         // (N)
                                                        const bf16* inp,     // (N, C)
                                                        const bf16* weight,  // (C)
                                                        int64_t N, int C, float eps) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarpSize;
  if (row >= N) return;  // the whole warp leaves together, so the shuffles below stay full-warp
  const bf16* x = inp + row * C;

  float sum_sq = 0.0f;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float v[W];
    load_f32(v, x + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum_sq += v[k] * v[k];
  }
  const float s = rsqrtf(warp_sum(sum_sq) / float(C) + eps);

  bf16* y = out + row * C;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float v[W], w[W], o[W];
    load_f32(v, x + c);
    load_f32(w, weight + c);
#pragma unroll
    for (int k = 0; k < W; k++) o[k] = v[k] * s * w[k];
    store_bf16(y + c, o);
  }
  if (lane == 0) rstd[row] = s;
}

template <int W> __global__ void rmsnorm_backward_dinp_kernel(bf16* dinp,          // (N, C)
                                                              const bf16* dout,    // (N, C)
                                                              const bf16* inp,     // (N, C)
                                                              const bf16* weight,  // (C)
                                                              const float* rstd,   // (N)
                                                              int64_t N, int C) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarpSize;
  if (row >= N) return;  // the whole warp leaves together, so the shuffles below stay full-warp
  const bf16* x = inp + row * C;
  const bf16* dy = dout + row * C;
  bf16* dx = dinp + row * C;
  const float s = rstd[row];

  // The one row mean the gradient flows back through (that of the mean square).
  float sum_g_xhat = 0.0f;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float xv[W], dyv[W], w[W];
    load_f32(xv, x + c);
    load_f32(dyv, dy + c);
    load_f32(w, weight + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum_g_xhat += dyv[k] * w[k] * xv[k] * s;
  }
  const float mean_g_xhat = warp_sum(sum_g_xhat) / float(C);

  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float xv[W], dyv[W], w[W], dxv[W];
    load_f32(xv, x + c);
    load_f32(dyv, dy + c);
    load_f32(w, weight + c);
    load_f32(dxv, dx + c);
#pragma unroll
    for (int k = 0; k < W; k++) dxv[k] += s * (dyv[k] * w[k] - xv[k] * s * mean_g_xhat);
    store_bf16(dx + c, dxv);
  }
}

template <int W> void launch_rmsnorm_backward(cudaStream_t stream, int sm_count,
                                              DeviceBuffer& scratch, bf16* dinp, bf16* dweight,
                                              const bf16* dout, const bf16* inp, const bf16* weight,
                                              const float* rstd, int64_t N, int C) {
  const unsigned row_blocks = unsigned(cuda::ceil_div(N, kRowsPerBlock));
  cuda::launch(rmsnorm_backward_dinp_kernel<W>, row_blocks, kRowsPerBlock * kWarpSize, 0, stream,
               dinp, dout, inp, weight, rstd, N, C);
  cuda::check_launch();
  // dweight += sum_n dout * x * rstd: no shift, no bias.
  cuda::add_norm_param_grads<W>(stream, sm_count, scratch, dweight, nullptr, dout, inp, nullptr,
                                rstd, N, C);
}

}  // namespace

void CudaBackend::rmsnorm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, double eps) {
  check_rmsnorm_forward(*this, out, rstd, inp, weight, eps);
  const int64_t N = inp.rows(), C = inp.last_dim();
  if (N == 0) return;

  bf16* out_data = cuda::device_data<bf16>(out);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  const bf16* weight_data = cuda::device_data<bf16>(weight);
  float* rstd_data = cuda::device_data<float>(rstd);
  const unsigned blocks = unsigned(cuda::ceil_div(N, kRowsPerBlock));
  constexpr int kThreads = kRowsPerBlock * kWarpSize;
  if (C % kPackWidth == 0 && aligned_16({out_data, inp_data, weight_data})) {
    cuda::launch(rmsnorm_forward_kernel<kPackWidth>, blocks, kThreads, 0, stream_, out_data,
                 rstd_data, inp_data, weight_data, N, int(C), float(eps));
  } else {
    cuda::launch(rmsnorm_forward_kernel<1>, blocks, kThreads, 0, stream_, out_data, rstd_data,
                 inp_data, weight_data, N, int(C), float(eps));
  }
  cuda::check_launch();
}

void CudaBackend::rmsnorm_backward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp,
                                   Tensor weight, Tensor rstd) {
  check_rmsnorm_backward(*this, dinp, dweight, dout, inp, weight, rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  if (N == 0) return;

  bf16* dinp_data = cuda::device_data<bf16>(dinp);
  bf16* dweight_data = cuda::device_data<bf16>(dweight);
  const bf16* dout_data = cuda::device_data<bf16>(dout);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  const bf16* weight_data = cuda::device_data<bf16>(weight);
  const float* rstd_data = cuda::device_data<float>(rstd);
  if (C % kPackWidth == 0 && aligned_16({dinp_data, dout_data, inp_data, weight_data})) {
    launch_rmsnorm_backward<kPackWidth>(stream_, sm_count(), norm_scratch_, dinp_data, dweight_data,
                                        dout_data, inp_data, weight_data, rstd_data, N, int(C));
  } else {
    launch_rmsnorm_backward<1>(stream_, sm_count(), norm_scratch_, dinp_data, dweight_data,
                               dout_data, inp_data, weight_data, rstd_data, N, int(C));
  }
}

}  // namespace llm
