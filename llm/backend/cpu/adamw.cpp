#include "llm/backend/cpu/adamw.hpp"

#include <cmath>

namespace llm::cpu {

template <typename T>
void adamw_update(T* param, const T* grad, T* m, T* v, double learning_rate, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step, double grad_scale,
                  int64_t N) {
  // The per-step constants in double, then the element-wise work in T.
  const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T m_correction = static_cast<T>(1.0 / (1.0 - std::pow(beta1, static_cast<double>(step))));
  const T v_correction = static_cast<T>(1.0 / (1.0 - std::pow(beta2, static_cast<double>(step))));
  const T lr = static_cast<T>(learning_rate), wd = static_cast<T>(weight_decay);
  const T e = static_cast<T>(eps), scale = static_cast<T>(grad_scale);
#pragma omp parallel for simd
  for (int64_t i = 0; i < N; i++) {
    const T g = grad[i] * scale;
    m[i] = b1 * m[i] + (T(1) - b1) * g;
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    const T m_hat = m[i] * m_correction;
    const T v_hat = v[i] * v_correction;
    param[i] -= lr * (m_hat / (std::sqrt(v_hat) + e) + wd * param[i]);
  }
}

template void adamw_update<float>(float*, const float*, float*, float*, double, double, double,
                                  double, double, int64_t, double, int64_t);
template void adamw_update<double>(double*, const double*, double*, double*, double, double,
                                   double, double, double, int64_t, double, int64_t);

}  // namespace llm::cpu
