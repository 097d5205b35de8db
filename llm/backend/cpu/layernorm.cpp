#include "llm/backend/cpu/layernorm.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

#include <omp.h>

#include <cmath>

namespace llm::cpu {

template <typename T> void layernorm_forward(T* out, T* mean, T* rstd, const T* inp,
                                             const T* weight, const T* bias, int64_t N, int64_t C) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* x = inp + n * C;
    // (omp simd reduction: lets the compiler sum in vector lanes, which it may not do on its own
    // because that reorders floating-point additions)
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; c++) sum += x[c];
    const T m = sum / static_cast<T>(C);
    T sum_sq = 0;  // two passes: the variance of (x - m) does not cancel catastrophically
#pragma omp simd reduction(+ : sum_sq)
    for (int64_t c = 0; c < C; c++) sum_sq += (x[c] - m) * (x[c] - m);
    const T s = T(1) / std::sqrt(sum_sq / static_cast<T>(C) + static_cast<T>(kLayerNormEps));
    T* y = out + n * C;
    for (int64_t c = 0; c < C; c++) y[c] = (x[c] - m) * s * weight[c] + bias[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

template <typename T> void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout,
                                              const T* inp, const T* weight, const T* mean,
                                              const T* rstd, int64_t N, int64_t C) {
  // dinp: rows are independent.
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    const T m = mean[n], s = rstd[n];
    T mean_g = 0, mean_g_xhat = 0;
#pragma omp simd reduction(+ : mean_g, mean_g_xhat)
    for (int64_t c = 0; c < C; c++) {
      const T g = dy[c] * weight[c];
      mean_g += g;
      mean_g_xhat += g * (x[c] - m) * s;
    }
    mean_g /= static_cast<T>(C);
    mean_g_xhat /= static_cast<T>(C);
    T* dx = dinp + n * C;
    for (int64_t c = 0; c < C; c++) {
      const T xhat = (x[c] - m) * s;
      dx[c] += s * (dy[c] * weight[c] - mean_g - xhat * mean_g_xhat);
    }
  }
  // dweight, dbias: sums over rows. Each thread owns a contiguous range of channels, so there is
  // no race, and every channel is summed in row order whatever the thread count.
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t c0 = C * id / threads, c1 = C * (id + 1) / threads;
    for (int64_t n = 0; n < N; n++) {
      const T* x = inp + n * C;
      const T* dy = dout + n * C;
      const T m = mean[n], s = rstd[n];
      for (int64_t c = c0; c < c1; c++) {
        dweight[c] += dy[c] * (x[c] - m) * s;
        dbias[c] += dy[c];
      }
    }
  }
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*,
                                       const float*, int64_t, int64_t);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*,
                                        const double*, int64_t, int64_t);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, int64_t, int64_t);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, int64_t,
                                         int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/layernorm.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::layernorm_forward(Tensor out, Tensor mean, Tensor rstd,
                                                            Tensor inp, Tensor weight,
                                                            Tensor bias) {
  check_layernorm_forward(*this, out, mean, rstd, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::layernorm_forward(out.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                         bias.ptr<T>(), N, C);
}

template <typename T>
void CpuBackend<T>::layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                       Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  check_layernorm_backward(*this, dinp, dweight, dbias, dout, inp, weight, mean, rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::layernorm_backward(dinp.ptr<T>(), dweight.ptr<T>(), dbias.ptr<T>(), dout.ptr<T>(),
                          inp.ptr<T>(), weight.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), N, C);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::layernorm_forward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<double>::layernorm_forward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<float>::layernorm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                    Tensor, Tensor);
template void CpuBackend<double>::layernorm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                     Tensor, Tensor);

}  // namespace llm
