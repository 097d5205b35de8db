// The CUDA emulation's runtime API: one device with an H100 SXM's properties, whose memory is host
// memory. The SM count (132) can be lowered with GLASSBOX_EMULATION_SM_COUNT: the grids the backend
// sizes by it (sum_of_squares' 2 blocks per SM, layernorm's dweight partials) then shrink, which
// the CI run of the emulated tests uses to stay short; the large-shape run keeps the H100's 132.
// Every call is synchronous (a kernel has finished when its launch returns), so streams only need
// to exist.
//
// Device memory. cudaMalloc allocates exactly the bytes asked for (aligned to 256, as cudaMalloc
// guarantees), so under AddressSanitizer a kernel that reads or writes one element past a buffer is
// reported at that access; and fills them with the byte 0xCD, so a kernel that reads memory nobody
// wrote computes with garbage (a large negative bf16, a NaN-free but absurd f32), not zeros.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

struct CUstream_st {};

namespace llm::emulation {

namespace {
std::mutex state_mutex;
cudaError_t last_error = cudaSuccess;
std::set<void*> allocations;  // live cudaMalloc pointers: cudaFree of anything else is an error
}  // namespace

void set_last_error(cudaError_t error) {
  std::lock_guard<std::mutex> lock(state_mutex);
  last_error = error;
}

}  // namespace llm::emulation

using llm::emulation::allocations;
using llm::emulation::set_last_error;
using llm::emulation::state_mutex;

namespace {
// A failed call returns its error and leaves it for cudaGetLastError too, as the runtime does.
cudaError_t fail(cudaError_t error) {
  set_last_error(error);
  return error;
}
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (device != 0) return fail(cudaErrorInvalidValue);
  *properties = {};
  std::strncpy(properties->name, "NVIDIA H100 80GB HBM3 (CPU emulation)",
               sizeof(properties->name) - 1);
  properties->totalGlobalMem = size_t(80) << 30;
  const char* sm_count = std::getenv("GLASSBOX_EMULATION_SM_COUNT");
  properties->multiProcessorCount = sm_count ? std::atoi(sm_count) : 132;
  if (properties->multiProcessorCount < 1) return fail(cudaErrorInvalidValue);
  properties->major = 9;
  properties->minor = 0;
  properties->maxThreadsPerBlock = 1024;
  properties->warpSize = 32;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  std::lock_guard<std::mutex> lock(state_mutex);
  const cudaError_t error = llm::emulation::last_error;
  llm::emulation::last_error = cudaSuccess;
  return error;
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (posix_memalign(ptr, 256, bytes) != 0) return fail(cudaErrorMemoryAllocation);
  std::memset(*ptr, 0xcd, bytes);
  std::lock_guard<std::mutex> lock(state_mutex);
  allocations.insert(*ptr);
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(state_mutex);
    known = allocations.erase(ptr) > 0;
  }
  if (!known) return fail(cudaErrorInvalidValue);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  *ptr = std::malloc(bytes ? bytes : 1);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  *total = size_t(80) << 30;
  *free = *total;
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind,
                            cudaStream_t) {
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  *stream = new CUstream_st;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
