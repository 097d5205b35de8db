#pragma once
// defines: llm::cuda::launch, the one place a kernel is launched:
//   cuda::launch(kernel, grid, block, shared_bytes, stream, args...)
// is `kernel<<<grid, block, shared_bytes, stream>>>(args...)` when nvcc compiles the file
// (__CUDACC__). The same sources also compile with the host C++ compiler against the CPU emulation
// of CUDA in kernels/emulation/ (see kernels/README.md), which has no triple-chevron syntax: there
// the launch runs the grid on the CPU, block after block, one fiber per CUDA thread.
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

namespace llm::cuda {

template <typename... Params, typename... Args> void launch(void (*kernel)(Params...), dim3 grid,
                                                            dim3 block, size_t shared_bytes,
                                                            cudaStream_t stream, Args&&... args) {
#ifdef __CUDACC__
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#else
  // Every emulated thread calls the kernel with its own copy of the arguments, as on the GPU.
  emulation::run_grid(grid, block, shared_bytes, stream, [&] { kernel(Params(args)...); });
#endif
}

}  // namespace llm::cuda
