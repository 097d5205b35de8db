// CudaBackend: the device, the stream, memory, host <-> device copies and dtype conversions.
// The ops live beside their kernels, one file per op family (see cuda_backend.hpp).
#include "kernels/cuda_backend.hpp"

#include <string>

#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "llm/backend/expect.hpp"

namespace llm {

using cuda::bf16;
using cuda::cuda_check;

// ---- DeviceBuffer ----

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);  // no check: destructors must not throw
}

void* DeviceBuffer::get(size_t bytes) {
  if (bytes > bytes_) {
    if (ptr_) cuda_check(cudaFree(ptr_));
    ptr_ = nullptr;
    cuda_check(cudaMalloc(&ptr_, bytes));
    bytes_ = bytes;
  }
  return ptr_;
}

// ---- the device ----

CudaBackend::CudaBackend() {
  int device = 0;
  cuda_check(cudaGetDevice(&device));
  cuda_check(cudaGetDeviceProperties(&properties_, device));
  cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  cuda::cublas_check(cublasLtCreate(&cublaslt_));
  cuda_check(cudaMallocHost(&host_result_, sizeof(double)));
}

CudaBackend::~CudaBackend() {
  // No checks: destructors must not throw, and a failed CUDA context is beyond repair here anyway.
  cudaStreamSynchronize(stream_);
  cudaFreeHost(host_result_);
  cublasLtDestroy(cublaslt_);
  cudaStreamDestroy(stream_);
}

std::string CudaBackend::description() const {
  return std::string(properties_.name) + ", " + std::to_string(sm_count()) + " SMs, " +
         std::to_string(properties_.totalGlobalMem >> 30) + " GiB, sm_" +
         std::to_string(properties_.major) + std::to_string(properties_.minor);
}

double CudaBackend::peak_flops() const {
  // Dense bf16 tensor-core peaks from NVIDIA's data sheets (the sparse figures are twice these).
  const std::string name = properties_.name;
  const bool hopper = properties_.major == 9 && properties_.minor == 0;
  if (hopper && name.find("H200") != std::string::npos) return 989.4e12;
  if (hopper && name.find("H100") != std::string::npos) {
    if (name.find("PCIe") != std::string::npos) return 756.0e12;  // 114 SMs, lower clocks
    return 989.4e12;                                              // SXM5: 132 SMs at 1830 MHz
  }
  if (properties_.major == 8 && properties_.minor == 0) return 312.0e12;  // A100
  return 0;
}

void CudaBackend::synchronize() { cuda_check(cudaStreamSynchronize(stream_)); }

// ---- memory ----

void* CudaBackend::allocate(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes ? bytes : 256);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky error so the message below is the one reported
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    const double MiB = 1024.0 * 1024.0;
    throw Error(
        "cuda backend: out of GPU memory allocating " + std::to_string(int64_t(bytes / MiB)) +
        " MiB (" + std::to_string(int64_t(free / MiB)) + " MiB free of " +
        std::to_string(int64_t(total / MiB)) + "); try a smaller batch_size with more grad_accum");
  }
  cuda_check(status);
  return ptr;
}

void CudaBackend::release(void* ptr) { cuda_check(cudaFree(ptr)); }

void CudaBackend::zero(Tensor t) {
  if (t.empty()) return;
  check(t.device == Device::cuda, "zero: tensor is on the cpu, expected cuda");
  cuda_check(cudaMemsetAsync(t.data, 0, t.nbytes(), stream_));
}

void CudaBackend::copy_to_host(void* host, Tensor src) {
  check(src.device == Device::cuda, "copy_to_host: src is on the cpu, expected cuda");
  if (!src.nbytes()) return;
  cuda_check(cudaMemcpyAsync(host, src.data, src.nbytes(), cudaMemcpyDeviceToHost, stream_));
  cuda_check(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy_from_host(Tensor dst, const void* host) {
  check(dst.device == Device::cuda, "copy_from_host: dst is on the cpu, expected cuda");
  if (!dst.nbytes()) return;
  cuda_check(cudaMemcpyAsync(dst.data, host, dst.nbytes(), cudaMemcpyHostToDevice, stream_));
  // Wait, so the caller may reuse or free `host` as soon as this returns (the CPU backend's
  // contract).
  cuda_check(cudaStreamSynchronize(stream_));
}

// ---- conversions ----

namespace {

__global__ void f32_to_bf16_kernel(bf16* dst, const float* src, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __float2bfloat16(src[i]);  // round to nearest even
}

__global__ void bf16_to_f32_kernel(float* dst, const bf16* src, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __bfloat162float(src[i]);
}

}  // namespace

void CudaBackend::convert(Tensor dst, Tensor src) {
  check(dst.device == Device::cuda && src.device == Device::cuda,
        "convert: both tensors must be on cuda");
  expect_numel("convert", "dst", dst, src.numel(), "src's " + src.shape.str());
  const int64_t n = src.numel();
  if (n == 0) return;
  if (dst.dtype == src.dtype) {
    cuda_check(
        cudaMemcpyAsync(dst.data, src.data, src.nbytes(), cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  constexpr int kThreads = 256;
  const unsigned blocks = unsigned(cuda::ceil_div(n, kThreads));
  if (dst.dtype == DType::bf16 && src.dtype == DType::f32) {
    cuda::launch(f32_to_bf16_kernel, blocks, kThreads, 0, stream_, cuda::device_data<bf16>(dst),
                 cuda::device_data<float>(src), n);
  } else if (dst.dtype == DType::f32 && src.dtype == DType::bf16) {
    cuda::launch(bf16_to_f32_kernel, blocks, kThreads, 0, stream_, cuda::device_data<float>(dst),
                 cuda::device_data<bf16>(src), n);
  } else {
    throw Error(std::string("convert: ") + dtype_name(src.dtype) + " -> " + dtype_name(dst.dtype) +
                " is not supported on cuda (f32 <-> bf16 only)");
  }
  cuda::check_launch();
}

// ---- factories (declared in llm/backend/backend.hpp) ----

bool cuda_available(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = std::string("no usable GPU: ") + cudaGetErrorString(status);
    return false;
  }
  if (count == 0) {
    if (why) *why = "no GPU found";
    return false;
  }
  return true;
}

std::unique_ptr<Backend> make_cuda_backend() {
  std::string why;
  if (!cuda_available(&why)) throw Error("--device cuda: " + why);
  return std::make_unique<CudaBackend>();
}

}  // namespace llm
