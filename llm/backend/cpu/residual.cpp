#include "llm/backend/cpu/residual.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

namespace llm::cpu {

template <typename T> void residual_forward(T* out, const T* a, const T* b, int64_t N) {
#pragma omp parallel for simd
  for (int64_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

template <typename T> void residual_backward(T* da, T* db, const T* dout, int64_t N) {
#pragma omp parallel for simd
  for (int64_t i = 0; i < N; i++) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

template void residual_forward<float>(float*, const float*, const float*, int64_t);
template void residual_forward<double>(double*, const double*, const double*, int64_t);
template void residual_backward<float>(float*, float*, const float*, int64_t);
template void residual_backward<double>(double*, double*, const double*, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/residual.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::residual_forward(Tensor out, Tensor a, Tensor b) {
  check_residual_forward(*this, out, a, b);
  cpu::residual_forward(out.ptr<T>(), a.ptr<T>(), b.ptr<T>(), a.numel());
}

template <typename T> void CpuBackend<T>::residual_backward(Tensor da, Tensor db, Tensor dout) {
  check_residual_backward(*this, da, db, dout);
  cpu::residual_backward(da.ptr<T>(), db.ptr<T>(), dout.ptr<T>(), dout.numel());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::residual_forward(Tensor, Tensor, Tensor);
template void CpuBackend<double>::residual_forward(Tensor, Tensor, Tensor);
template void CpuBackend<float>::residual_backward(Tensor, Tensor, Tensor);
template void CpuBackend<double>::residual_backward(Tensor, Tensor, Tensor);

}  // namespace llm
