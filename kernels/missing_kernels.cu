// CudaBackend: the ops of the Llama-style switches (llm/model/config.hpp) that have no CUDA kernel
// yet. Their CPU twins are llm/backend/cpu/rmsnorm.cpp, rope.cpp and swiglu.cpp; until the kernels
// exist, a model that needs one of them runs on the CPU, and on a GPU each says so in one line.
#include <string>

#include "kernels/cuda_backend.hpp"
#include "llm/core/error.hpp"

namespace llm {
namespace {
[[noreturn]] void no_kernel(const char* op) {
  throw Error(std::string(op) + ": no CUDA kernel yet (run this model with --device cpu)");
}
}  // namespace

void CudaBackend::rmsnorm_forward(Tensor, Tensor, Tensor, Tensor, double) {
  no_kernel("rmsnorm_forward");
}
void CudaBackend::rmsnorm_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor) {
  no_kernel("rmsnorm_backward");
}
void CudaBackend::rope_forward(Tensor, Tensor, int, int, int, RopeFrequencies) {
  no_kernel("rope_forward");
}
void CudaBackend::rope_backward(Tensor, Tensor, int, int, int, RopeFrequencies) {
  no_kernel("rope_backward");
}
void CudaBackend::swiglu_forward(Tensor, Tensor) { no_kernel("swiglu_forward"); }
void CudaBackend::swiglu_backward(Tensor, Tensor, Tensor) { no_kernel("swiglu_backward"); }

}  // namespace llm
