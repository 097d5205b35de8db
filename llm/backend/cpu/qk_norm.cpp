// CpuBackend::qk_norm_forward, qk_norm_backward: RMSNorm of every query and key head.
// CUDA twin: kernels/qk_norm.cu.
//
// A row of qkv (B*T rows) holds NH query heads, NKV key heads and NKV value heads of hs channels.
// Each query or key head x is normalised on its own, as llm/backend/cpu/rmsnorm.cpp normalises a
// row of C, with the gain w = q_weight (query heads) or k_weight (key heads), shared by the heads:
//   rstd = 1 / sqrt(1/hs sum_i x[i]^2 + eps),   xhat = x * rstd,   out = xhat * w
// The value heads are copied. Backward, per head, with g = dout * w (the gradient reaching xhat):
//   dinp += rstd * ( g - xhat * mean_i(g * xhat) )      (the mean: the path through rstd)
//   dw   += sum over rows and heads of dout * xhat
#include <omp.h>

#include <cmath>
#include <cstdint>

#include "llm/backend/cpu/cpu_backend.hpp"

namespace llm::cpu {
namespace {

template <typename T> void qk_norm_forward(T* out,             // (N, (NH + 2 NKV) hs)
                                           T* rstd,            // (N, NH + NKV)
                                           const T* inp,       // (N, (NH + 2 NKV) hs)
                                           const T* q_weight,  // (hs)
                                           const T* k_weight,  // (hs)
                                           int64_t N, int64_t NH, int64_t NKV, int64_t hs,
                                           double eps) {
  const int64_t W = (NH + 2 * NKV) * hs, normalised = NH + NKV;
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    for (int64_t h = 0; h < normalised; h++) {
      const T* x = inp + n * W + h * hs;
      const T* w = h < NH ? q_weight : k_weight;
      T sum_sq = 0;
      for (int64_t i = 0; i < hs; i++) sum_sq += x[i] * x[i];
      const T s = T(1) / std::sqrt(sum_sq / static_cast<T>(hs) + static_cast<T>(eps));
      T* y = out + n * W + h * hs;
      for (int64_t i = 0; i < hs; i++) y[i] = x[i] * s * w[i];
      rstd[n * normalised + h] = s;
    }
    // the value heads pass through unchanged
    for (int64_t c = normalised * hs; c < W; c++) out[n * W + c] = inp[n * W + c];
  }
}

template <typename T> void qk_norm_backward(T* dinp, T* dq_weight, T* dk_weight, const T* dout,
                                            const T* inp, const T* q_weight, const T* k_weight,
                                            const T* rstd, int64_t N, int64_t NH, int64_t NKV,
                                            int64_t hs) {
  const int64_t W = (NH + 2 * NKV) * hs, normalised = NH + NKV;
  // dinp: rows are independent.
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    for (int64_t h = 0; h < normalised; h++) {
      const T* x = inp + n * W + h * hs;
      const T* dy = dout + n * W + h * hs;
      const T* w = h < NH ? q_weight : k_weight;
      const T s = rstd[n * normalised + h];
      T mean_g_xhat = 0;
      for (int64_t i = 0; i < hs; i++) mean_g_xhat += dy[i] * w[i] * x[i] * s;
      mean_g_xhat /= static_cast<T>(hs);
      T* dx = dinp + n * W + h * hs;
      for (int64_t i = 0; i < hs; i++) dx[i] += s * (dy[i] * w[i] - x[i] * s * mean_g_xhat);
    }
    for (int64_t c = normalised * hs; c < W; c++) dinp[n * W + c] += dout[n * W + c];
  }
  // dq_weight, dk_weight: sums over rows and heads. Each thread owns a contiguous range of the 2 hs
  // gain channels (q's, then k's), so there is no race and every sum runs in one fixed order.
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t j0 = 2 * hs * id / threads, j1 = 2 * hs * (id + 1) / threads;
    for (int64_t j = j0; j < j1; j++) {
      const bool is_q = j < hs;
      const int64_t i = is_q ? j : j - hs;
      const int64_t h0 = is_q ? 0 : NH, h1 = is_q ? NH : normalised;
      T sum = 0;
      for (int64_t n = 0; n < N; n++)
        for (int64_t h = h0; h < h1; h++)
          sum += dout[n * W + h * hs + i] * inp[n * W + h * hs + i] * rstd[n * normalised + h];
      (is_q ? dq_weight : dk_weight)[i] += sum;
    }
  }
}

}  // namespace
}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/qk_norm.cu) ----

template <typename T> void CpuBackend<T>::qk_norm_forward(Tensor out, Tensor rstd, Tensor inp,
                                                          Tensor q_weight, Tensor k_weight, int NH,
                                                          double eps) {
  check_qk_norm_forward(*this, out, rstd, inp, q_weight, k_weight, NH, eps);
  const int64_t N = inp.rows(), hs = q_weight.numel();
  const int64_t NKV = (inp.last_dim() / hs - NH) / 2;
  cpu::qk_norm_forward(out.ptr<T>(), rstd.ptr<T>(), inp.ptr<T>(), q_weight.ptr<T>(),
                       k_weight.ptr<T>(), N, int64_t(NH), NKV, hs, eps);
}

template <typename T> void CpuBackend<T>::qk_norm_backward(Tensor dinp, Tensor dq_weight,
                                                           Tensor dk_weight, Tensor dout,
                                                           Tensor inp, Tensor q_weight,
                                                           Tensor k_weight, Tensor rstd, int NH) {
  check_qk_norm_backward(*this, dinp, dq_weight, dk_weight, dout, inp, q_weight, k_weight, rstd,
                         NH);
  const int64_t N = inp.rows(), hs = q_weight.numel();
  const int64_t NKV = (inp.last_dim() / hs - NH) / 2;
  cpu::qk_norm_backward(dinp.ptr<T>(), dq_weight.ptr<T>(), dk_weight.ptr<T>(), dout.ptr<T>(),
                        inp.ptr<T>(), q_weight.ptr<T>(), k_weight.ptr<T>(), rstd.ptr<T>(), N,
                        int64_t(NH), NKV, hs);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::qk_norm_forward(Tensor, Tensor, Tensor, Tensor, Tensor, int,
                                                 double);
template void CpuBackend<double>::qk_norm_forward(Tensor, Tensor, Tensor, Tensor, Tensor, int,
                                                  double);
template void CpuBackend<float>::qk_norm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                  Tensor, Tensor, int);
template void CpuBackend<double>::qk_norm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                   Tensor, Tensor, int);

}  // namespace llm
