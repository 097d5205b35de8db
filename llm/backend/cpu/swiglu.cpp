#include "llm/backend/cpu/swiglu.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

#include <cmath>

namespace llm::cpu {

template <typename T> void swiglu_forward(T* out, const T* inp, int64_t N, int64_t H) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* gate = inp + n * 2 * H;
    const T* up = gate + H;
    T* y = out + n * H;
    for (int64_t h = 0; h < H; h++) y[h] = gate[h] / (T(1) + std::exp(-gate[h])) * up[h];
  }
}

template <typename T>
void swiglu_backward(T* dinp, const T* inp, const T* dout, int64_t N, int64_t H) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    const T* gate = inp + n * 2 * H;
    const T* up = gate + H;
    const T* dy = dout + n * H;
    T* dgate = dinp + n * 2 * H;
    T* dup = dgate + H;
    for (int64_t h = 0; h < H; h++) {
      const T g = gate[h];
      const T s = T(1) / (T(1) + std::exp(-g));
      dgate[h] += dy[h] * up[h] * s * (T(1) + g * (T(1) - s));
      dup[h] += dy[h] * g * s;
    }
  }
}

template void swiglu_forward<float>(float*, const float*, int64_t, int64_t);
template void swiglu_forward<double>(double*, const double*, int64_t, int64_t);
template void swiglu_backward<float>(float*, const float*, const float*, int64_t, int64_t);
template void swiglu_backward<double>(double*, const double*, const double*, int64_t, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/swiglu.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::swiglu_forward(Tensor out, Tensor inp) {
  check_swiglu_forward(*this, out, inp);
  cpu::swiglu_forward(out.ptr<T>(), inp.ptr<T>(), out.rows(), out.last_dim());
}

template <typename T> void CpuBackend<T>::swiglu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_swiglu_backward(*this, dinp, inp, dout);
  cpu::swiglu_backward(dinp.ptr<T>(), inp.ptr<T>(), dout.ptr<T>(), dout.rows(), dout.last_dim());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::swiglu_forward(Tensor, Tensor);
template void CpuBackend<double>::swiglu_forward(Tensor, Tensor);
template void CpuBackend<float>::swiglu_backward(Tensor, Tensor, Tensor);
template void CpuBackend<double>::swiglu_backward(Tensor, Tensor, Tensor);

}  // namespace llm
