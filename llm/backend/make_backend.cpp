// make_backend: the device name a user types (--device cpu|cuda) to a Backend.
//
// The CUDA backend is compiled into this library only when GLASSBOX_CUDA is on (nvcc found); its
// factory then lives in kernels/cuda_backend.cu. Without it the two CUDA functions below say so.
#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"

namespace llm {

#ifndef GLASSBOX_HAVE_CUDA
std::unique_ptr<Backend> make_cuda_backend() {
  throw Error("this glassbox was built without the CUDA backend (kernels/): build it where nvcc is "
              "installed (cmake -DGLASSBOX_CUDA=ON)");
}

bool cuda_available(std::string* why) {
  if (why) *why = "this glassbox was built without the CUDA backend";
  return false;
}
#endif

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend(DType::f32);
  if (device == "cuda") return make_cuda_backend();
  throw Error("unknown device '" + device + "' (expected cpu or cuda)");
}

}  // namespace llm
