#pragma once
// The CUDA emulation's stand-in for <cuda_runtime.h>: what kernels/*.cu use of the CUDA language
// and runtime, for the host C++ compiler (see kernels/README.md, "The CUDA emulation").
//
// - Execution-space keywords (__global__, __device__, __host__) mean nothing on the host;
// __shared__
//   makes a variable static (one copy per kernel, shared by the threads of the one block that runs
//   at a time) and places it in the section the emulator refills with garbage before every block.
// - threadIdx, blockIdx, blockDim, gridDim are set by the emulator before it resumes each CUDA
//   thread (a fiber on the launching host thread).
// - __syncthreads and the warp shuffles are rendezvous of those fibers (grid_execution.cpp).
// - The runtime API (memory, copies, streams) is synchronous host code (device_runtime.cpp).
// The keywords must be macros: they are language keywords in CUDA, not names.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <source_location>
#include <stdexcept>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static __attribute__((section("cuda_emulation_shared")))

// ---- the launch configuration and the built-in indices ----

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

extern thread_local constinit uint3 threadIdx;
extern thread_local constinit uint3 blockIdx;
extern thread_local constinit dim3 blockDim;
extern thread_local constinit dim3 gridDim;

// ---- the runtime API ----

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;
constexpr unsigned cudaStreamNonBlocking = 1;

// The properties the backend reads, with an H100 SXM's values.
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int multiProcessorCount;
  int major, minor;
  int maxThreadsPerBlock;
  int warpSize;
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device);
cudaError_t cudaGetLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemGetInfo(size_t* free, size_t* total);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

template <typename T> cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <typename T> cudaError_t cudaMallocHost(T** ptr, size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes);
}

// ---- the emulator's entry points (grid_execution.cpp) ----

namespace llm::emulation {

// Runs `thread_body` once per thread of every block of the grid (what cuda::launch does here).
void run_grid(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
              const std::function<void()>& thread_body);

// Rendezvous of the calling emulated thread with the others of its block, or of its warp. `where`
// is the call site: every thread must arrive at the same one.
void block_barrier(std::source_location where);
// The warp shuffle: publishes this lane's 8 bytes and returns the source lane's.
uint64_t warp_exchange(uint64_t value, int source_lane, std::source_location where);
int lane_id();

}  // namespace llm::emulation

// ---- device functions ----

inline void __syncthreads(std::source_location where = std::source_location::current()) {
  llm::emulation::block_barrier(where);
}

// The value of lane (this lane XOR lane_mask), and of lane source_lane. Only full-warp masks are
// emulated (the kernels use no other); `width` must be 32.
template <typename T> T __shfl_sync(unsigned mask, T value, int source_lane, int width = 32,
                                    std::source_location where = std::source_location::current());
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32,
                  std::source_location where = std::source_location::current()) {
  return __shfl_sync(mask, value, llm::emulation::lane_id() ^ lane_mask, width, where);
}
template <typename T>
T __shfl_sync(unsigned mask, T value, int source_lane, int width, std::source_location where) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "the emulated shuffle moves at most 8 bytes");
  if (mask != 0xffffffffu || width != 32)
    throw std::invalid_argument("cuda emulation: only full-warp shuffles are emulated");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = llm::emulation::warp_exchange(bits, source_lane & 31, where);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
