// CudaBackend::layernorm_forward, layernorm_backward: layer normalisation over the last dimension.
// CPU twin: llm/backend/cpu/layernorm.cpp (the math is also in llm/backend/cpu/layernorm.hpp).
//
// Forward, per row x of C values (eps = 1e-5):
//   mean = 1/C sum_c x[c],   rstd = 1 / sqrt(1/C sum_c (x[c] - mean)^2 + eps)
//   xhat = (x - mean) * rstd,   out = xhat * weight + bias
// Backward, with g = dout * weight (the gradient reaching xhat):
//   dinp    += rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
//   dweight += sum_n dout * xhat,   dbias += sum_n dout
//
// Kernels (bf16 in and out, every sum in f32, mean and rstd f32):
// - forward, and the dinp part of the backward: one warp per row (as llm.c), 8 rows per block. The
//   warp walks its row three times (the forward: sum, squared deviations, output; the backward: the
//   two row means, then dinp); the later passes hit the row in L1/L2. Two passes for the variance
//   (not E[x^2] - mean^2) so it does not cancel catastrophically.
// - dweight and dbias are sums over all N rows, done in a fixed order so they are deterministic
//   (no float atomics): kernels/column_sums.cuh, shared with rmsnorm.cu, with per-chunk f32
//   partials in norm_scratch_.
// Rows are read in packs of W = 8 bf16 (one 16-byte load) when C % 8 == 0 and every row pointer is
// 16-byte aligned, else W = 1 (views into a packed arena may start at any even address). Any C >= 1
// and N >= 1 work.
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "kernels/cuda_backend.hpp"
#include "kernels/column_sums.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"
#include "llm/backend/cpu/layernorm.hpp"

namespace llm {
namespace {

using cuda::aligned_16;
using cuda::bf16;
using cuda::kWarpSize;
using cuda::load_f32;
using cuda::store_bf16;
using cuda::warp_sum;

constexpr float kEps = static_cast<float>(cpu::kLayerNormEps);  // the CPU twin's, so they agree
constexpr int kPackWidth = 8;                                   // bf16 per 16-byte pack
constexpr int kRowsPerBlock = 8;  // warp-per-row kernels: 8 warps, 256 threads per block

// Lane l of a warp handles the packs starting at channels l*W, l*W + 32*W, ... of its row (C is a
// multiple of W), so each step of the warp reads 32 consecutive packs.

template <int W> __global__ void layernorm_forward_kernel(bf16* out,           // (N, C)
                                                          float* mean,         // (N)
                                                          float* rstd,         // (N)
                                                          const bf16* inp,     // (N, C)
                                                          const bf16* weight,  // (C)
                                                          const bf16* bias,    // (C)
                                                          int64_t N, int C) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarpSize;
  if (row >= N) return;  // the whole warp leaves together, so the shuffles below stay full-warp
  const bf16* x = inp + row * C;

  float sum = 0.0f;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float v[W];
    load_f32(v, x + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum += v[k];
  }
  const float m = warp_sum(sum) / float(C);

  float sum_sq = 0.0f;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float v[W];
    load_f32(v, x + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum_sq += (v[k] - m) * (v[k] - m);
  }
  const float s = rsqrtf(warp_sum(sum_sq) / float(C) + kEps);

  bf16* y = out + row * C;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float v[W], w[W], b[W], o[W];
    load_f32(v, x + c);
    load_f32(w, weight + c);
    load_f32(b, bias + c);
#pragma unroll
    for (int k = 0; k < W; k++) o[k] = (v[k] - m) * s * w[k] + b[k];
    store_bf16(y + c, o);
  }
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

template <int W> __global__ void layernorm_backward_dinp_kernel(bf16* dinp,          // (N, C)
                                                                const bf16* dout,    // (N, C)
                                                                const bf16* inp,     // (N, C)
                                                                const bf16* weight,  // (C)
                                                                const float* mean,   // (N)
                                                                const float* rstd,   // (N)
                                                                int64_t N, int C) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarpSize;
  if (row >= N) return;  // the whole warp leaves together, so the shuffles below stay full-warp
  const bf16* x = inp + row * C;
  const bf16* dy = dout + row * C;
  bf16* dx = dinp + row * C;
  const float m = mean[row], s = rstd[row];

  // The two row means the gradient flows back through (those of the mean and of the variance).
  float sum_g = 0.0f, sum_g_xhat = 0.0f;
  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float xv[W], dyv[W], w[W];
    load_f32(xv, x + c);
    load_f32(dyv, dy + c);
    load_f32(w, weight + c);
#pragma unroll
    for (int k = 0; k < W; k++) {
      const float g = dyv[k] * w[k];
      sum_g += g;
      sum_g_xhat += g * (xv[k] - m) * s;
    }
  }
  const float mean_g = warp_sum(sum_g) / float(C);
  const float mean_g_xhat = warp_sum(sum_g_xhat) / float(C);

  for (int c = lane * W; c < C; c += kWarpSize * W) {
    float xv[W], dyv[W], w[W], dxv[W];
    load_f32(xv, x + c);
    load_f32(dyv, dy + c);
    load_f32(w, weight + c);
    load_f32(dxv, dx + c);
#pragma unroll
    for (int k = 0; k < W; k++) {
      const float xhat = (xv[k] - m) * s;
      dxv[k] += s * (dyv[k] * w[k] - mean_g - xhat * mean_g_xhat);
    }
    store_bf16(dx + c, dxv);
  }
}

template <int W> void launch_layernorm_backward(cudaStream_t stream, int sm_count,
                                                DeviceBuffer& scratch, bf16* dinp, bf16* dweight,
                                                bf16* dbias, const bf16* dout, const bf16* inp,
                                                const bf16* weight, const float* mean,
                                                const float* rstd, int64_t N, int C) {
  const unsigned row_blocks = unsigned(cuda::ceil_div(N, kRowsPerBlock));
  cuda::launch(layernorm_backward_dinp_kernel<W>, row_blocks, kRowsPerBlock * kWarpSize, 0, stream,
               dinp, dout, inp, weight, mean, rstd, N, C);
  cuda::check_launch();

  cuda::add_norm_param_grads<W>(stream, sm_count, scratch, dweight, dbias, dout, inp, mean, rstd, N,
                                C);
}

}  // namespace

void CudaBackend::layernorm_forward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight,
                                    Tensor bias) {
  check_layernorm_forward(*this, out, mean, rstd, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim();
  if (N == 0) return;

  bf16* out_data = cuda::device_data<bf16>(out);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  const bf16* weight_data = cuda::device_data<bf16>(weight);
  const bf16* bias_data = cuda::device_data<bf16>(bias);
  float* mean_data = cuda::device_data<float>(mean);
  float* rstd_data = cuda::device_data<float>(rstd);
  const unsigned blocks = unsigned(cuda::ceil_div(N, kRowsPerBlock));
  constexpr int kThreads = kRowsPerBlock * kWarpSize;
  if (C % kPackWidth == 0 && aligned_16({out_data, inp_data, weight_data, bias_data})) {
    cuda::launch(layernorm_forward_kernel<kPackWidth>, blocks, kThreads, 0, stream_, out_data,
                 mean_data, rstd_data, inp_data, weight_data, bias_data, N, int(C));
  } else {
    cuda::launch(layernorm_forward_kernel<1>, blocks, kThreads, 0, stream_, out_data, mean_data,
                 rstd_data, inp_data, weight_data, bias_data, N, int(C));
  }
  cuda::check_launch();
}

void CudaBackend::layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                     Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  check_layernorm_backward(*this, dinp, dweight, dbias, dout, inp, weight, mean, rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  if (N == 0) return;

  bf16* dinp_data = cuda::device_data<bf16>(dinp);
  const bf16* dout_data = cuda::device_data<bf16>(dout);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  const bf16* weight_data = cuda::device_data<bf16>(weight);
  if (C % kPackWidth == 0 && aligned_16({dinp_data, dout_data, inp_data, weight_data})) {
    launch_layernorm_backward<kPackWidth>(
        stream_, sm_count(), norm_scratch_, dinp_data, cuda::device_data<bf16>(dweight),
        cuda::device_data<bf16>(dbias), dout_data, inp_data, weight_data,
        cuda::device_data<float>(mean), cuda::device_data<float>(rstd), N, int(C));
  } else {
    launch_layernorm_backward<1>(stream_, sm_count(), norm_scratch_, dinp_data,
                                 cuda::device_data<bf16>(dweight), cuda::device_data<bf16>(dbias),
                                 dout_data, inp_data, weight_data, cuda::device_data<float>(mean),
                                 cuda::device_data<float>(rstd), N, int(C));
  }
}

}  // namespace llm
