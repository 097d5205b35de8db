#include "llm/backend/cpu/scale_add.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

namespace llm::cpu {

template <typename T>
void scale_add(T* out, double alpha, const T* a, double beta, const T* b, int64_t N) {
  // The scalars in the backend's precision, as every other op rounds its settings.
  const T x = static_cast<T>(alpha), y = static_cast<T>(beta);
#pragma omp parallel for simd
  for (int64_t i = 0; i < N; i++) out[i] = x * a[i] + y * b[i];
}

template void scale_add<float>(float*, double, const float*, double, const float*, int64_t);
template void scale_add<double>(double*, double, const double*, double, const double*, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend op of this file (on CUDA: kernels/scale_add.cu) ----

template <typename T>
void CpuBackend<T>::scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) {
  check_scale_add(*this, out, alpha, a, beta, b);
  cpu::scale_add(out.ptr<T>(), alpha, a.ptr<T>(), beta, b.ptr<T>(), out.numel());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::scale_add(Tensor, double, Tensor, double, Tensor);
template void CpuBackend<double>::scale_add(Tensor, double, Tensor, double, Tensor);

}  // namespace llm
