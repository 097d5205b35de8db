// Lesson 12's result. On a GPU: your three matmuls at M = N = K = 4096, their TFLOP/s against the
// device's FP32 peak, next to the arithmetic intensity each design has (flops per byte it loads
// from global memory): the table of a roofline. On the CPU emulation: each once at a small size,
// checked, and no timing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/cuda.hpp"
#include "common/random.hpp"
#include "lesson.hpp"

using namespace lesson12;

namespace {

std::vector<float> random_floats(size_t n, uint64_t seed) {
  const std::vector<double> values = lesson::randn(n, seed);
  return std::vector<float>(values.begin(), values.end());
}

// The largest |C - A B| over every entry of a small C, or over 500 entries spread over a large one
// (the full product in double on the CPU would take minutes at 4096).
double worst_error(const std::vector<float>& C, const std::vector<float>& A,
                   const std::vector<float>& B, int M, int N, int K) {
  const int64_t entries = int64_t(M) * N;
  const int64_t step = std::max<int64_t>(1, entries / 500);
  double worst = 0;
  for (int64_t e = 0; e < entries; e += step) {
    const int64_t m = e / N, n = e % N;
    double want = 0;
    for (int k = 0; k < K; k++) want += double(A[size_t(m * K + k)]) * B[size_t(k * N + n)];
    const float got = C[size_t(e)];
    worst = std::max(worst, std::isnan(got) ? INFINITY : std::abs(got - want));
  }
  return worst;
}

}  // namespace

int main() {
  const lesson::Device device = lesson::this_device();
  std::printf("device: %s\n", device.name.c_str());
  const int M = device.emulated ? 96 : 4096, N = device.emulated ? 80 : 4096,
            K = device.emulated ? 40 : 4096;
  std::printf("C (%d, %d) = A (%d, %d) B (%d, %d), float\n\n", M, N, M, K, K, N);
  const auto A = random_floats(size_t(M) * K, 1), B = random_floats(size_t(K) * N, 2);
  lesson::DeviceArray dA(A), dB(B), dC(random_floats(size_t(M) * N, 3));

  struct Kernel {
    const char* name;
    void (*run)(float*, const float*, const float*, int, int, int);
    double intensity;  // flops per byte loaded from global memory, by design (see README)
  };
  const Kernel kernels[] = {
      {"matmul_naive", matmul_naive, 2.0 / 8},  // 2 flops per 2 floats loaded
      {"matmul_shared", matmul_shared, kTile / 4.0},
      {"matmul_registers", matmul_registers, 2.0 * kBlockM * kBlockN / (4.0 * (kBlockM + kBlockN))},
  };
  std::printf("%-18s %12s %12s", "kernel", "flop/byte", "max |error|");
  if (!device.emulated) std::printf(" %10s %9s %8s", "time ms", "TFLOP/s", "of peak");
  std::printf("\n");
  for (const Kernel& kernel : kernels) {
    auto run = [&] { kernel.run(dC.data(), dA.data(), dB.data(), M, N, K); };
    run();
    lesson::check_cuda(cudaStreamSynchronize(nullptr), kernel.name);
    const double error = worst_error(dC.to_host(), A, B, M, N, K);
    std::printf("%-18s %12.2f %12.2e", kernel.name, kernel.intensity, error);
    if (!device.emulated) {
      const double ms = lesson::time_ms(run, 5);
      const double tflops = 2.0 * M * N * K / (ms * 1e-3) / 1e12;
      std::printf(" %10.2f %9.2f", ms, tflops);
      if (device.peak_fp32_tflops > 0)
        std::printf(" %7.0f%%", 100 * tflops / device.peak_fp32_tflops);
    }
    std::printf("\n");
  }
  if (device.emulated) {
    std::printf(
        "\nCorrectness only: this is the CPU emulation of CUDA (one fiber per CUDA thread,\n"
        "one block at a time), whose times say nothing about a GPU. On a GPU the same program\n"
        "prints each kernel's TFLOP/s against the device's FP32 peak.\n");
  } else if (device.peak_fp32_tflops > 0) {
    std::printf(
        "\nroofline of this device (data sheet): %.0f TFLOP/s FP32, %.0f GB/s: a kernel below\n"
        "%.0f flop/byte is limited by memory, above it by arithmetic. Caches raise every kernel's\n"
        "real intensity above its design's (the naive kernel's neighbours share loads in L1/L2).\n",
        device.peak_fp32_tflops, device.peak_gb_per_s,
        device.peak_fp32_tflops * 1e12 / (device.peak_gb_per_s * 1e9));
  }
  return 0;
}
