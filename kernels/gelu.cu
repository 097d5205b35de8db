// CudaBackend::gelu_forward, gelu_backward: GELU in the tanh approximation GPT-2 was trained with.
// CPU twin: llm/backend/cpu/gelu.cpp (the formulas are in llm/backend/cpu/gelu.hpp).
//
//   gelu(x)  = 0.5 x (1 + th),   th = tanh(u),   u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = 0.5 (1 + th) + 0.5 x (1 - th^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//   forward: out = gelu(inp);   backward: dinp += gelu'(inp) * dout
//
// The kernels are the element-wise activation kernels of kernels/activation.cuh (f32 math, packs
// of 8 bf16 when aligned), here with the accurate tanhf: the op is memory-bound, so the exact tanh
// costs nothing.
#include "kernels/activation.cuh"

namespace llm {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;                  // GPT-2's cubic coefficient

struct Gelu {
  static __device__ float value(float x) {
    const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
    return 0.5f * x * (1.0f + th);
  }
  static __device__ float derivative(float x) {
    const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
    return 0.5f * (1.0f + th) +
           0.5f * x * (1.0f - th * th) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
  }
};

}  // namespace

void CudaBackend::gelu_forward(Tensor out, Tensor inp) {
  check_gelu_forward(*this, out, inp);
  cuda::activation_forward<Gelu>(stream_, out, inp);
}

void CudaBackend::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_gelu_backward(*this, dinp, inp, dout);
  cuda::activation_backward<Gelu>(stream_, dinp, inp, dout);
}

}  // namespace llm
