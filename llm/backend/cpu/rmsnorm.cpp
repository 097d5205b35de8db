#include "llm/backend/cpu/rmsnorm.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

#include <omp.h>

#include <cmath>

namespace llm::cpu {

template <typename T> void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight,
                                           int64_t N, int64_t C, double eps) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* x = inp + n * C;
    T sum_sq = 0;
#pragma omp simd reduction(+ : sum_sq)
    for (int64_t c = 0; c < C; c++) sum_sq += x[c] * x[c];
    const T s = T(1) / std::sqrt(sum_sq / static_cast<T>(C) + static_cast<T>(eps));
    T* y = out + n * C;
    for (int64_t c = 0; c < C; c++) y[c] = x[c] * s * weight[c];
    rstd[n] = s;
  }
}

template <typename T> void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp,
                                            const T* weight, const T* rstd, int64_t N, int64_t C) {
  // dinp: rows are independent.
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    const T s = rstd[n];
    T mean_g_xhat = 0;
#pragma omp simd reduction(+ : mean_g_xhat)
    for (int64_t c = 0; c < C; c++) mean_g_xhat += dy[c] * weight[c] * x[c] * s;
    mean_g_xhat /= static_cast<T>(C);
    T* dx = dinp + n * C;
    for (int64_t c = 0; c < C; c++) dx[c] += s * (dy[c] * weight[c] - x[c] * s * mean_g_xhat);
  }
  // dweight: a sum over rows. Each thread owns a contiguous range of channels, so there is no
  // race, and every channel is summed in row order whatever the thread count.
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t c0 = C * id / threads, c1 = C * (id + 1) / threads;
    for (int64_t n = 0; n < N; n++) {
      const T* x = inp + n * C;
      const T* dy = dout + n * C;
      for (int64_t c = c0; c < c1; c++) dweight[c] += dy[c] * x[c] * rstd[n];
    }
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int64_t,
                                     double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t,
                                      int64_t, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*,
                                      const float*, int64_t, int64_t);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*,
                                       const double*, const double*, int64_t, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/rmsnorm.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::rmsnorm_forward(Tensor out, Tensor rstd, Tensor inp,
                                                          Tensor weight, double eps) {
  check_rmsnorm_forward(*this, out, rstd, inp, weight, eps);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::rmsnorm_forward(out.ptr<T>(), rstd.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(), N, C, eps);
}

template <typename T> void CpuBackend<T>::rmsnorm_backward(Tensor dinp, Tensor dweight, Tensor dout,
                                                           Tensor inp, Tensor weight, Tensor rstd) {
  check_rmsnorm_backward(*this, dinp, dweight, dout, inp, weight, rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::rmsnorm_backward(dinp.ptr<T>(), dweight.ptr<T>(), dout.ptr<T>(), inp.ptr<T>(),
                        weight.ptr<T>(), rstd.ptr<T>(), N, C);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::rmsnorm_forward(Tensor, Tensor, Tensor, Tensor, double);
template void CpuBackend<double>::rmsnorm_forward(Tensor, Tensor, Tensor, Tensor, double);
template void CpuBackend<float>::rmsnorm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<double>::rmsnorm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);

}  // namespace llm
