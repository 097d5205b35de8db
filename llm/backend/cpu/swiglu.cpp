#include "llm/backend/cpu/swiglu.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

namespace llm::cpu {

// Written with Eigen arrays so exp runs vectorised (a loop over std::exp stays scalar: the compiler
// may not vectorise a libm call that can set errno); the formulas are the header's, term for term.
template <typename T> void swiglu_forward(T* out, const T* inp, int64_t N, int64_t H) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    ConstArrayMap<T> g(inp + n * 2 * H, H);
    ConstArrayMap<T> u(inp + n * 2 * H + H, H);
    ArrayMap<T> y(out + n * H, H);
    y = g / (T(1) + (-g).exp()) * u;
  }
}

template <typename T>
void swiglu_backward(T* dinp, const T* inp, const T* dout, int64_t N, int64_t H) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    ConstArrayMap<T> g(inp + n * 2 * H, H);
    ConstArrayMap<T> u(inp + n * 2 * H + H, H);
    ConstArrayMap<T> dy(dout + n * H, H);
    ArrayMap<T> dg(dinp + n * 2 * H, H);
    ArrayMap<T> du(dinp + n * 2 * H + H, H);
    const auto s = (T(1) / (T(1) + (-g).exp())).eval();  // sigmoid(g)
    dg += dy * u * s * (T(1) + g * (T(1) - s));
    du += dy * g * s;
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
