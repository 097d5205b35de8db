// The two CUDA factories of llm/backend/backend.hpp in a build without the CUDA backend: they say
// so. With it (GLASSBOX_HAVE_CUDA) they live in kernels/cuda_backend.cu. A file of their own, so
// that a program linking its own CUDA backend (the CPU emulation's tests, kernels/emulation/) never
// pulls these from the library beside it.
#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"

namespace llm {

#ifndef GLASSBOX_HAVE_CUDA
std::unique_ptr<Backend> make_cuda_backend() {
  throw Error(
      "this glassbox was built without the CUDA backend (kernels/): build it where nvcc is "
      "installed (cmake -DGLASSBOX_CUDA=ON)");
}

bool cuda_available(std::string* why) {
  if (why) *why = "this glassbox was built without the CUDA backend";
  return false;
}
#endif

}  // namespace llm
