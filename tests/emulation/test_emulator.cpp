// The CUDA emulation's own checks (kernels/emulation/grid_execution.cpp): small kernels written
// here, right and wrong, run on the emulator built with AddressSanitizer + UBSan. A right kernel
// computes what a GPU computes; each planted mistake (a barrier in divergent code, a thread that
// returns while others wait, a deadlock, a shuffle from a lane a partial warp lacks, a thread that
// throws) ends the launch with an error naming it; the emulator runs the next launch as if nothing
// happened. Races are ThreadSanitizer's (the lessons' lesson_11_catches_missing_syncthreads), hangs
// the watchdog's (test_cuda_emulator_hang).
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/launch.cuh"
#include "llm/core/error.hpp"

namespace {

constexpr int kThreads = 256;

// Each block sums its kThreads values: through shared memory and __syncthreads down to one warp,
// then with shuffles, as the project's reduction kernels do.
__global__ void block_sums_kernel(float* sums, const float* x) {
  __shared__ float partial[kThreads];
  const int t = int(threadIdx.x);
  partial[t] = x[blockIdx.x * kThreads + t];
  __syncthreads();
  for (int stride = kThreads / 2; stride >= 32; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t < 32) {
    float v = partial[t];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    if (t == 0) sums[blockIdx.x] = v;
  }
}

// Every thread reads the shared slot its right neighbour wrote: right only with the barrier.
__global__ void rotate_kernel(int* out) {
  __shared__ int slot[64];
  const int t = int(threadIdx.x);
  slot[t] = t;
  __syncthreads();
  out[t] = slot[(t + 1) % 64];
}

// What a shared array holds before any thread of the block writes it.
__global__ void read_unwritten_shared_kernel(uint8_t* out) {
  __shared__ uint8_t untouched[16];
  out[threadIdx.x] = untouched[threadIdx.x];
}

__global__ void divergent_barrier_kernel() {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
}

__global__ void early_return_kernel() {
  if (threadIdx.x == 5) return;
  __syncthreads();
}

// Half of the warp waits at the block's barrier, the other half in a shuffle: neither completes.
__global__ void deadlock_kernel(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 0);
  }
}

// A block of 40 threads: its second warp has lanes 0-7 only.
__global__ void shuffle_past_partial_warp_kernel(int* out) {
  out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 20);
}

__global__ void throwing_kernel() {
  if (threadIdx.x == 3) throw std::runtime_error("planted");
}

__global__ void spin_kernel() {
  volatile bool forever = true;
  while (forever) {}
}

template <typename T> T* device_copy(const std::vector<T>& host) {
  T* device = nullptr;
  REQUIRE(cudaMalloc(&device, host.size() * sizeof(T)) == cudaSuccess);
  REQUIRE(cudaMemcpyAsync(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice,
                          nullptr) == cudaSuccess);
  return device;
}

template <typename T> std::vector<T> host_copy(const T* device, size_t n) {
  std::vector<T> host(n);
  REQUIRE(cudaMemcpyAsync(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost, nullptr) ==
          cudaSuccess);
  return host;
}

// The message of the error the launch throws ("" if it throws none).
template <typename Launch> std::string launch_error(Launch&& launch) {
  try {
    launch();
  } catch (const llm::Error& e) { return e.what(); }
  return "";
}

}  // namespace

TEST_CASE("emulator: a block reduction with barriers and shuffles sums as a GPU does") {
  const int blocks = 6;
  std::vector<float> x(size_t(blocks) * kThreads);
  std::iota(x.begin(), x.end(), 1.0f);  // integers: every order of summation gives the same sum
  float* x_device = device_copy(x);
  float* sums = device_copy(std::vector<float>(blocks, -1.0f));
  llm::cuda::launch(block_sums_kernel, dim3(blocks), dim3(kThreads), 0, nullptr, sums,
                    static_cast<const float*>(x_device));
  const std::vector<float> got = host_copy(sums, blocks);
  for (int b = 0; b < blocks; b++) {
    const double first = 1.0 + b * kThreads, last = first + kThreads - 1;
    CHECK(got[size_t(b)] == doctest::Approx((first + last) * kThreads / 2));
  }
  cudaFree(x_device);
  cudaFree(sums);
}

TEST_CASE("emulator: after a barrier every thread sees what the others wrote before it") {
  int* out = device_copy(std::vector<int>(64, -1));
  llm::cuda::launch(rotate_kernel, dim3(1), dim3(64), 0, nullptr, out);
  const std::vector<int> got = host_copy(out, 64);
  for (int t = 0; t < 64; t++) CHECK(got[size_t(t)] == (t + 1) % 64);
  cudaFree(out);
}

TEST_CASE("emulator: shared memory holds garbage (0xCD) until the block writes it") {
  uint8_t* out = device_copy(std::vector<uint8_t>(16, 0));
  llm::cuda::launch(read_unwritten_shared_kernel, dim3(1), dim3(16), 0, nullptr, out);
  for (const uint8_t byte : host_copy(out, 16)) CHECK(byte == 0xCD);
  cudaFree(out);
}

TEST_CASE("emulator: planted mistakes end the launch with an error that names them") {
  int* out = device_copy(std::vector<int>(64, 0));
  SUBCASE("a barrier in divergent code") {
    const std::string error = launch_error(
        [] { llm::cuda::launch(divergent_barrier_kernel, dim3(2), dim3(64), 0, nullptr); });
    CHECK(error.find("threads wait at two different call sites") != std::string::npos);
    CHECK(error.find("test_emulator.cpp:") != std::string::npos);  // the file:line of each
  }
  SUBCASE("a thread returns while the others wait") {
    const std::string error =
        launch_error([] { llm::cuda::launch(early_return_kernel, dim3(1), dim3(64), 0, nullptr); });
    CHECK(((error.find("thread 5 returned from the kernel while") != std::string::npos) ||
           (error.find("already returned from the kernel") != std::string::npos)));
  }
  SUBCASE("a deadlock between the block's barrier and a warp shuffle") {
    const std::string error = launch_error(
        [&] { llm::cuda::launch(deadlock_kernel, dim3(1), dim3(32), 0, nullptr, out); });
    CHECK(error.find("deadlock") != std::string::npos);
    CHECK(error.find("in a warp shuffle at") != std::string::npos);
  }
  SUBCASE("a shuffle from a lane a partial warp does not have") {
    const std::string error = launch_error([&] {
      llm::cuda::launch(shuffle_past_partial_warp_kernel, dim3(1), dim3(40), 0, nullptr, out);
    });
    CHECK(error.find("reads lane 20 of a warp of 8 threads") != std::string::npos);
  }
  SUBCASE("a thread that throws") {
    const std::string error =
        launch_error([] { llm::cuda::launch(throwing_kernel, dim3(1), dim3(32), 0, nullptr); });
    CHECK(error.find("thread 3 threw: planted") != std::string::npos);
  }
  // Whatever failed before, the next launch runs normally.
  llm::cuda::launch(rotate_kernel, dim3(1), dim3(64), 0, nullptr, out);
  const std::vector<int> got = host_copy(out, 64);
  for (int t = 0; t < 64; t++) CHECK(got[size_t(t)] == (t + 1) % 64);
  cudaFree(out);
}

// Never returns: run by ctest's test_cuda_emulator_hang only, with GLASSBOX_EMULATION_TIMEOUT=1,
// which passes when the watchdog aborts the process with its message.
TEST_CASE("emulator: a kernel that never returns is aborted by the watchdog" * doctest::skip()) {
  llm::cuda::launch(spin_kernel, dim3(1), dim3(4), 0, nullptr);
}
