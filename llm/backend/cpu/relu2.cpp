// CpuBackend::relu2_forward, relu2_backward: the squared ReLU (So et al. 2021, "Primer"), the MLP
// activation of modded-nanogpt and nanochat. CUDA twin: kernels/relu2.cu.
//
//   relu2(x)  = max(x, 0)^2
//   relu2'(x) = 2 max(x, 0)          (continuous: 0 from both sides at x = 0)
//   forward: out = relu2(inp);   backward: dinp += relu2'(inp) * dout
//
// Element-wise over every element (all dimensions folded).
#include <algorithm>

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

namespace llm::cpu {
namespace {

template <typename T> void relu2_forward(T* out, const T* inp, int64_t N) {
#pragma omp parallel for
  for (int64_t start = 0; start < N; start += kArrayChunk) {
    const int64_t n = std::min(kArrayChunk, N - start);
    ConstArrayMap<T> x(inp + start, n);
    ArrayMap<T> y(out + start, n);
    y = x.max(T(0)).square();
  }
}

template <typename T> void relu2_backward(T* dinp, const T* inp, const T* dout, int64_t N) {
#pragma omp parallel for
  for (int64_t start = 0; start < N; start += kArrayChunk) {
    const int64_t n = std::min(kArrayChunk, N - start);
    ConstArrayMap<T> x(inp + start, n);
    ConstArrayMap<T> dy(dout + start, n);
    ArrayMap<T> dx(dinp + start, n);
    dx += T(2) * x.max(T(0)) * dy;
  }
}

}  // namespace
}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/relu2.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::relu2_forward(Tensor out, Tensor inp) {
  check_relu2_forward(*this, out, inp);
  cpu::relu2_forward(out.ptr<T>(), inp.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::relu2_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_relu2_backward(*this, dinp, inp, dout);
  cpu::relu2_backward(dinp.ptr<T>(), inp.ptr<T>(), dout.ptr<T>(), inp.numel());
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::relu2_forward(Tensor, Tensor);
template void CpuBackend<double>::relu2_forward(Tensor, Tensor);
template void CpuBackend<float>::relu2_backward(Tensor, Tensor, Tensor);
template void CpuBackend<double>::relu2_backward(Tensor, Tensor, Tensor);

}  // namespace llm
