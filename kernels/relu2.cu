// CudaBackend::relu2_forward, relu2_backward: the squared ReLU of modded-nanogpt's and nanochat's
// MLP. CPU twin: llm/backend/cpu/relu2.cpp.
//
//   relu2(x)  = max(x, 0)^2,   relu2'(x) = 2 max(x, 0)
//   forward: out = relu2(inp);   backward: dinp += relu2'(inp) * dout
//
// The kernels are the element-wise activation kernels of kernels/activation.cuh (f32 math, packs
// of 8 bf16 when aligned).
#include "kernels/activation.cuh"

namespace llm {
namespace {

struct Relu2 {
  static __device__ float value(float x) {
    const float r = fmaxf(x, 0.0f);
    return r * r;
  }
  static __device__ float derivative(float x) { return 2.0f * fmaxf(x, 0.0f); }
};

}  // namespace

void CudaBackend::relu2_forward(Tensor out, Tensor inp) {
  check_relu2_forward(*this, out, inp);
  cuda::activation_forward<Relu2>(stream_, out, inp);
}

void CudaBackend::relu2_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_relu2_backward(*this, dinp, inp, dout);
  cuda::activation_backward<Relu2>(stream_, dinp, inp, dout);
}

}  // namespace llm
