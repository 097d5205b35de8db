#pragma once
// defines: llm::cuda::cuda_check, cublas_check, check_launch: every CUDA and cuBLAS call checked,
// failing with an llm::Error that names the file and line of the call, e.g.
//   "kernels/layernorm.cu:87: CUDA error: invalid argument (cudaErrorInvalidValue)".
// std::source_location supplies the caller's file and line, so no macro is needed.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <source_location>
#include <string>

#include "llm/core/error.hpp"

namespace llm::cuda {

inline std::string where(const std::source_location& loc) {
  std::string file = loc.file_name();
  // Keep the path from the repository's top folder on: ".../glassbox/kernels/x.cu" ->
  // "kernels/x.cu".
  const size_t k = file.rfind("kernels/");
  if (k != std::string::npos) file = file.substr(k);
  return file + ":" + std::to_string(loc.line());
}

inline void cuda_check(cudaError_t status,
                       std::source_location loc = std::source_location::current()) {
  if (status != cudaSuccess)
    throw Error(where(loc) + ": CUDA error: " + cudaGetErrorString(status) + " (" +
                cudaGetErrorName(status) + ")");
}

inline void cublas_check(cublasStatus_t status,
                         std::source_location loc = std::source_location::current()) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(where(loc) + ": cuBLAS error: " + cublasGetStatusString(status) + " (" +
                cublasGetStatusName(status) + ")");
}

// After a kernel launch: a bad launch configuration shows up here, at the launching line. (Errors
// inside the kernel surface at the next synchronizing call.)
inline void check_launch(std::source_location loc = std::source_location::current()) {
  cuda_check(cudaGetLastError(), loc);
}

}  // namespace llm::cuda
