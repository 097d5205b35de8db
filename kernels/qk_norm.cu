// CudaBackend::qk_norm_forward, qk_norm_backward: RMSNorm of every query and key head.
// CPU twin: llm/backend/cpu/qk_norm.cpp (the math is written out there).
//
// A row of qkv (N = B*T rows of (NH + 2 NKV) hs channels) holds NH query heads, NKV key heads and
// NKV value heads. Query and key heads are normalised over their hs channels and scaled by
// q_weight or k_weight (hs, shared by the heads); value heads are copied (forward) or pass dout
// through (backward). bf16 in and out, every sum in f32, rstd f32.
//
// Kernels, written for clarity first (not tuned):
// - forward and the dinp part of the backward: one thread per (row, head), which walks its hs
//   channels (hs is 64-128 in practice, so a head is a short serial loop).
// - dq_weight and dk_weight are sums over all N rows and their heads: one thread per gain channel
//   (2 hs threads) sums them in row order, then head order, in f32, and adds the total into the
//   bf16 gradient once. No atomics, so the bits are the same on every run; only 2 hs threads, so
//   this kernel is the one to split into chunked partials (as kernels/layernorm.cu does) if it
//   shows up in a profile.
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"

namespace llm {
namespace {

using cuda::bf16;

constexpr int kThreads = 256;

__global__ void qk_norm_forward_kernel(bf16* out,             // (N, (NH + 2 NKV) hs)
                                       float* rstd,           // (N, NH + NKV)
                                       const bf16* inp,       // (N, (NH + 2 NKV) hs)
                                       const bf16* q_weight,  // (hs)
                                       const bf16* k_weight,  // (hs)
                                       int64_t N, int NH, int NKV, int hs, float eps) {
  const int heads = NH + 2 * NKV, normalised = NH + NKV;
  const int64_t index = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // (row, head)
  if (index >= N * heads) return;
  const int64_t n = index / heads;
  const int h = int(index % heads);
  const bf16* x = inp + index * hs;  // head h of row n starts at (n * heads + h) * hs
  bf16* y = out + index * hs;
  if (h >= normalised) {  // a value head: copied
    for (int i = 0; i < hs; i++) y[i] = x[i];
    return;
  }
  const bf16* w = h < NH ? q_weight : k_weight;
  float sum_sq = 0;
  for (int i = 0; i < hs; i++) {
    const float xi = __bfloat162float(x[i]);
    sum_sq += xi * xi;
  }
  const float s = rsqrtf(sum_sq / float(hs) + eps);
  for (int i = 0; i < hs; i++)
    y[i] = __float2bfloat16(__bfloat162float(x[i]) * s * __bfloat162float(w[i]));
  rstd[n * normalised + h] = s;
}

__global__ void qk_norm_backward_dinp_kernel(bf16* dinp,            // (N, (NH + 2 NKV) hs)
                                             const bf16* dout,      // (N, (NH + 2 NKV) hs)
                                             const bf16* inp,       // (N, (NH + 2 NKV) hs)
                                             const bf16* q_weight,  // (hs)
                                             const bf16* k_weight,  // (hs)
                                             const float* rstd,     // (N, NH + NKV)
                                             int64_t N, int NH, int NKV, int hs) {
  const int heads = NH + 2 * NKV, normalised = NH + NKV;
  const int64_t index = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= N * heads) return;
  const int64_t n = index / heads;
  const int h = int(index % heads);
  const bf16* x = inp + index * hs;
  const bf16* dy = dout + index * hs;
  bf16* dx = dinp + index * hs;
  if (h >= normalised) {  // a value head: the gradient passes through
    for (int i = 0; i < hs; i++)
      dx[i] = __float2bfloat16(__bfloat162float(dx[i]) + __bfloat162float(dy[i]));
    return;
  }
  const bf16* w = h < NH ? q_weight : k_weight;
  const float s = rstd[n * normalised + h];
  // dinp += rstd * (g - xhat * mean_i(g * xhat)), g = dout * w, xhat = x * rstd
  float mean_g_xhat = 0;
  for (int i = 0; i < hs; i++)
    mean_g_xhat += __bfloat162float(dy[i]) * __bfloat162float(w[i]) * __bfloat162float(x[i]) * s;
  mean_g_xhat /= float(hs);
  for (int i = 0; i < hs; i++) {
    const float g = __bfloat162float(dy[i]) * __bfloat162float(w[i]);
    const float xhat = __bfloat162float(x[i]) * s;
    dx[i] = __float2bfloat16(__bfloat162float(dx[i]) + s * (g - xhat * mean_g_xhat));
  }
}

// Thread j < hs sums dq_weight[j] over every row's query heads, thread hs + j dk_weight[j] over the
// key heads: dw[i] += sum_n sum_h dout[n, h, i] * x[n, h, i] * rstd[n, h].
__global__ void qk_norm_backward_weight_kernel(bf16* dq_weight,    // (hs)
                                               bf16* dk_weight,    // (hs)
                                               const bf16* dout,   // (N, (NH + 2 NKV) hs)
                                               const bf16* inp,    // (N, (NH + 2 NKV) hs)
                                               const float* rstd,  // (N, NH + NKV)
                                               int64_t N, int NH, int NKV, int hs) {
  const int j = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= 2 * hs) return;
  const bool is_q = j < hs;
  const int i = is_q ? j : j - hs;
  const int h0 = is_q ? 0 : NH, h1 = is_q ? NH : NH + NKV;
  const int64_t W = int64_t(NH + 2 * NKV) * hs;
  const int normalised = NH + NKV;
  float sum = 0;
  for (int64_t n = 0; n < N; n++)
    for (int h = h0; h < h1; h++) {
      const int64_t c = n * W + int64_t(h) * hs + i;
      sum += __bfloat162float(dout[c]) * __bfloat162float(inp[c]) * rstd[n * normalised + h];
    }
  bf16* dw = is_q ? dq_weight : dk_weight;
  dw[i] = __float2bfloat16(__bfloat162float(dw[i]) + sum);
}

}  // namespace

void CudaBackend::qk_norm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor q_weight,
                                  Tensor k_weight, int NH, double eps) {
  check_qk_norm_forward(*this, out, rstd, inp, q_weight, k_weight, NH, eps);
  const int64_t N = inp.rows(), hs = q_weight.numel();
  const int NKV = int((inp.last_dim() / hs - NH) / 2);
  const int64_t threads = N * (NH + 2 * NKV);
  if (threads == 0) return;
  cuda::launch(qk_norm_forward_kernel, unsigned(cuda::ceil_div(threads, kThreads)), kThreads, 0,
               stream_, cuda::device_data<bf16>(out), cuda::device_data<float>(rstd),
               cuda::device_data<const bf16>(inp), cuda::device_data<const bf16>(q_weight),
               cuda::device_data<const bf16>(k_weight), N, NH, NKV, int(hs), float(eps));
  cuda::check_launch();
}

void CudaBackend::qk_norm_backward(Tensor dinp, Tensor dq_weight, Tensor dk_weight, Tensor dout,
                                   Tensor inp, Tensor q_weight, Tensor k_weight, Tensor rstd,
                                   int NH) {
  check_qk_norm_backward(*this, dinp, dq_weight, dk_weight, dout, inp, q_weight, k_weight, rstd,
                         NH);
  const int64_t N = inp.rows(), hs = q_weight.numel();
  const int NKV = int((inp.last_dim() / hs - NH) / 2);
  const int64_t threads = N * (NH + 2 * NKV);
  if (threads == 0) return;
  cuda::launch(qk_norm_backward_dinp_kernel, unsigned(cuda::ceil_div(threads, kThreads)), kThreads,
               0, stream_, cuda::device_data<bf16>(dinp), cuda::device_data<const bf16>(dout),
               cuda::device_data<const bf16>(inp), cuda::device_data<const bf16>(q_weight),
               cuda::device_data<const bf16>(k_weight), cuda::device_data<const float>(rstd), N, NH,
               NKV, int(hs));
  cuda::check_launch();
  cuda::launch(qk_norm_backward_weight_kernel, unsigned(cuda::ceil_div(2 * hs, kThreads)), kThreads,
               0, stream_, cuda::device_data<bf16>(dq_weight), cuda::device_data<bf16>(dk_weight),
               cuda::device_data<const bf16>(dout), cuda::device_data<const bf16>(inp),
               cuda::device_data<const float>(rstd), N, NH, NKV, int(hs));
  cuda::check_launch();
}

}  // namespace llm
