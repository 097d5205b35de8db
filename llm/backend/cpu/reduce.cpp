#include "llm/backend/cpu/reduce.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

namespace llm::cpu {

template <typename T> double sum_of_squares(const T* x, int64_t N) {
  double sum = 0.0;
#pragma omp parallel for simd reduction(+ : sum)
  for (int64_t i = 0; i < N; i++) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return sum;
}

template double sum_of_squares<float>(const float*, int64_t);
template double sum_of_squares<double>(const double*, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/reduce.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> double CpuBackend<T>::sum_of_squares(Tensor t) {
  check_sum_of_squares(*this, t);
  return cpu::sum_of_squares(t.ptr<T>(), t.numel());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template double CpuBackend<float>::sum_of_squares(Tensor);
template double CpuBackend<double>::sum_of_squares(Tensor);

}  // namespace llm
