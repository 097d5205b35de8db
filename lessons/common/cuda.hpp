#pragma once
// defines: lesson::check_cuda, lesson::DeviceArray, lesson::Device, lesson::this_device,
//          lesson::time_ms
//
// Host-side helpers of the CUDA lessons (11-13). They use only the CUDA runtime API, so they
// compile against the real <cuda_runtime.h> for a GPU and against the CPU emulation's
// (kernels/emulation/include/) for a machine without one.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace lesson {

// Throws, naming `what`, when a CUDA call failed.
inline void check_cuda(cudaError_t error, const std::string& what) {
  if (error != cudaSuccess)
    throw std::runtime_error(what + ": CUDA error " + cudaGetErrorName(error) + " (" +
                             cudaGetErrorString(error) + ")");
}

// n floats in device memory, followed by kGuard guard elements that hold a NaN whose payload (its
// low bits) is this array's own. A kernel that writes past element n - 1 overwrites a guard
// (first_overwritten_guard finds it, even when what it wrote is the NaN it read past the end of
// another array); a kernel that reads past the end reads NaN, which poisons what it computes.
class DeviceArray {
 public:
  static constexpr int64_t kGuard = 1024;

  explicit DeviceArray(const std::vector<float>& values)
      : n_(int64_t(values.size())), guard_bits_(next_guard_bits()) {
    std::vector<float> padded(values);
    float guard;
    std::memcpy(&guard, &guard_bits_, sizeof(guard));
    padded.resize(size_t(n_ + kGuard), guard);
    check_cuda(cudaMalloc(&data_, padded.size() * sizeof(float)), "cudaMalloc");
    check_cuda(cudaMemcpyAsync(data_, padded.data(), padded.size() * sizeof(float),
                               cudaMemcpyHostToDevice, nullptr),
               "cudaMemcpyAsync to the device");
    check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
  }
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return n_; }

  // The n elements, copied back to the host.
  std::vector<float> to_host() const { return copy_back(n_); }

  // The index (n, n + 1, ...) of the first guard element a kernel has overwritten, or -1.
  int64_t first_overwritten_guard() const {
    const std::vector<float> all = copy_back(n_ + kGuard);
    for (int64_t i = n_; i < n_ + kGuard; i++) {
      uint32_t bits;
      std::memcpy(&bits, &all[size_t(i)], sizeof(bits));
      if (bits != guard_bits_) return i;
    }
    return -1;
  }

 private:
  // A quiet NaN (exponent all ones, top mantissa bit set) with a payload no other array has.
  static uint32_t next_guard_bits() {
    static std::atomic<uint32_t> arrays{0};
    return 0x7fc00000u | (0x1dea + arrays++) % 0x400000u;
  }
  std::vector<float> copy_back(int64_t count) const {
    std::vector<float> host(static_cast<size_t>(count));
    check_cuda(cudaMemcpyAsync(host.data(), data_, host.size() * sizeof(float),
                               cudaMemcpyDeviceToHost, nullptr),
               "cudaMemcpyAsync to the host");
    check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    return host;
  }

  int64_t n_;
  uint32_t guard_bits_;
  float* data_ = nullptr;
};

// The device, and the peaks its data sheet gives (0 where this table does not know the device).
struct Device {
  std::string name;
  bool emulated;              // the CPU emulation of CUDA, not a GPU
  double peak_gb_per_s;       // DRAM bandwidth
  double peak_fp32_tflops;    // FP32 on the CUDA cores
  double peak_tensor_tflops;  // FP16 / BF16 inputs on the tensor cores, dense
};

inline Device this_device() {
  cudaDeviceProp properties{};
  check_cuda(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties");
  const std::string name = properties.name;
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("(CPU emulation)")) return {name, true, 0, 0, 0};
  // NVIDIA's data sheets (dense tensor-core rates, no sparsity).
  if (has("H200")) return {name, false, 4800, 67, 989};
  if (has("H100") && has("PCIe")) return {name, false, 2000, 51, 756};
  if (has("H100")) return {name, false, 3350, 67, 989};
  if (has("A100") && has("80GB")) return {name, false, 2039, 19.5, 312};
  if (has("A100")) return {name, false, 1555, 19.5, 312};
  return {name, false, 0, 0, 0};
}

// The mean time of one call of `run` (a kernel launch) in milliseconds, over `reps` calls after
// one warm-up call, waiting for the device after the last.
template <typename Run> double time_ms(Run&& run, int reps) {
  run();
  check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; r++) run();
  check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
  check_cuda(cudaGetLastError(), "a kernel launch");
  const std::chrono::duration<double, std::milli> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / reps;
}

}  // namespace lesson
