#include "llm/backend/cpu/gelu.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

#include <algorithm>

namespace llm::cpu {
namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kCubic = 0.044715;                  // GPT-2's cubic coefficient

}  // namespace

// Written with Eigen arrays so tanh runs vectorised (for float, Eigen's SIMD tanh); the formula is
// the one in the header, term for term.
template <typename T> void gelu_forward(T* out, const T* inp, int64_t N) {
  const T k = static_cast<T>(kSqrt2OverPi), a = static_cast<T>(kCubic);
#pragma omp parallel for
  for (int64_t start = 0; start < N; start += kArrayChunk) {
    const int64_t n = std::min(kArrayChunk, N - start);
    ConstArrayMap<T> x(inp + start, n);
    ArrayMap<T> y(out + start, n);
    y = T(0.5) * x * (T(1) + (k * (x + a * x.cube())).tanh());
  }
}

template <typename T> void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t N) {
  const T k = static_cast<T>(kSqrt2OverPi), a = static_cast<T>(kCubic);
#pragma omp parallel for
  for (int64_t start = 0; start < N; start += kArrayChunk) {
    const int64_t n = std::min(kArrayChunk, N - start);
    ConstArrayMap<T> x(inp + start, n);
    ConstArrayMap<T> dy(dout + start, n);
    ArrayMap<T> dx(dinp + start, n);
    const auto th = (k * (x + a * x.cube())).tanh().eval();
    dx += dy * (T(0.5) * (T(1) + th) +
                T(0.5) * x * (T(1) - th.square()) * k * (T(1) + T(3) * a * x.square()));
  }
}

template void gelu_forward<float>(float*, const float*, int64_t);
template void gelu_forward<double>(double*, const double*, int64_t);
template void gelu_backward<float>(float*, const float*, const float*, int64_t);
template void gelu_backward<double>(double*, const double*, const double*, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/gelu.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::gelu_forward(Tensor out, Tensor inp) {
  check_gelu_forward(*this, out, inp);
  cpu::gelu_forward(out.ptr<T>(), inp.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_gelu_backward(*this, dinp, inp, dout);
  cpu::gelu_backward(dinp.ptr<T>(), inp.ptr<T>(), dout.ptr<T>(), inp.numel());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::gelu_forward(Tensor, Tensor);
template void CpuBackend<double>::gelu_forward(Tensor, Tensor);
template void CpuBackend<float>::gelu_backward(Tensor, Tensor, Tensor);
template void CpuBackend<double>::gelu_backward(Tensor, Tensor, Tensor);

}  // namespace llm
