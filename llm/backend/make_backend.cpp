// make_backend: the device name a user types (--device cpu|cuda) to a Backend.
//
// The CUDA backend is compiled into this library only when GLASSBOX_CUDA is on (nvcc found); its
// factory then lives in kernels/cuda_backend.cu. Without it, cuda_unavailable.cpp says so.
#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"

namespace llm {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend(DType::f32);
  if (device == "cuda") return make_cuda_backend();
  throw Error("unknown device '" + device + "' (expected cpu or cuda)");
}

}  // namespace llm
