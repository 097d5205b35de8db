#include "llm/backend/cpu/adamw.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

#include <algorithm>
#include <cstring>
#include <cmath>

namespace llm::cpu {

// Written with Eigen arrays, one line per line of the math in the header: a plain loop would not
// vectorise here, because std::sqrt may set errno and the compiler must then call it per element.
template <typename T> void adamw_update(T* param, const T* grad, T* m, T* v, double learning_rate,
                                        double beta1, double beta2, double eps, double weight_decay,
                                        int64_t step, double grad_scale, int64_t N) {
  // The per-step constants in double, then the element-wise work in T.
  const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T m_correction = static_cast<T>(1.0 / (1.0 - std::pow(beta1, static_cast<double>(step))));
  const T v_correction = static_cast<T>(1.0 / (1.0 - std::pow(beta2, static_cast<double>(step))));
  const T lr = static_cast<T>(learning_rate), wd = static_cast<T>(weight_decay);
  const T e = static_cast<T>(eps), scale = static_cast<T>(grad_scale);
#pragma omp parallel for
  for (int64_t start = 0; start < N; start += kArrayChunk) {
    const int64_t n = std::min(kArrayChunk, N - start);
    ArrayMap<T> p(param + start, n), m_t(m + start, n), v_t(v + start, n);  // this chunk
    ConstArrayMap<T> g(grad + start, n);
    m_t = b1 * m_t + (T(1) - b1) * scale * g;
    v_t = b2 * v_t + (T(1) - b2) * (scale * g).square();
    p -= lr * ((m_t * m_correction) / ((v_t * v_correction).sqrt() + e) + wd * p);
  }
}

template void adamw_update<float>(float*, const float*, float*, float*, double, double, double,
                                  double, double, int64_t, double, int64_t);
template void adamw_update<double>(double*, const double*, double*, double*, double, double, double,
                                   double, double, int64_t, double, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/adamw.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::adamw_update(Tensor param, Tensor grad, Tensor m,
                                                       Tensor v, Tensor master,
                                                       const AdamWSettings& s, double grad_scale) {
  check_adamw_update(*this, param, grad, m, v, master, s, grad_scale);
  const int64_t N = param.numel();
  // On the CPU the parameters are the master weights; a master copy, if given, is updated and
  // then copied into param.
  T* target = master.empty() ? param.ptr<T>() : master.ptr<T>();
  cpu::adamw_update(target, grad.ptr<T>(), m.ptr<T>(), v.ptr<T>(), s.learning_rate, s.beta1,
                    s.beta2, s.eps, s.weight_decay, s.step, grad_scale, N);
  if (!master.empty()) std::memcpy(param.data, master.data, param.nbytes());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::adamw_update(Tensor, Tensor, Tensor, Tensor, Tensor,
                                              const AdamWSettings&, double);
template void CpuBackend<double>::adamw_update(Tensor, Tensor, Tensor, Tensor, Tensor,
                                               const AdamWSettings&, double);

}  // namespace llm
