// Lesson 12, GPU only: the tensor cores, through WMMA (CUDA's warp-level matrix API). nvcc builds
// this file into its own program, lesson_12_tensor_cores, where the CUDA backend is built; the CPU
// emulation has no tensor cores, so there is no emulated test of it.
//
// A tensor core multiplies small matrices in one instruction. WMMA exposes it per warp: the 32
// threads of a warp together hold "fragments" (16 x 16 tiles spread over their registers in a
// layout the hardware chooses), and mma_sync computes acc += a b for a 16 x 16 x 16 tile, with
// FP16 inputs and FP32 accumulation. Here each warp computes one 16 x 16 tile of C by walking k in
// steps of 16, loading its fragments straight from global memory: no shared memory, no reuse
// between warps, so it is far from the peak, but every flop is done by the tensor cores. (The
// project's own matmuls call cuBLASLt, kernels/matmul.cu, whose kernels add shared-memory staging,
// asynchronous copies and, on an H100, the warpgroup instructions wgmma.)
#include <cuda_fp16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

#include "common/cuda.hpp"
#include "common/random.hpp"

namespace {

constexpr int kWmma = 16;  // the fragment shape: 16 x 16 x 16
constexpr int kWarpsPerBlock = 4;

// C (M, N) = A (M, K) B (K, N), row-major; M, N, K multiples of 16. One warp per 16 x 16 tile of C.
__global__ void matmul_wmma_kernel(float* C, const half* A, const half* B, int M, int N, int K) {
  using namespace nvcuda;
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int tile_m = warp / (N / kWmma), tile_n = warp % (N / kWmma);
  if (tile_m >= M / kWmma) return;  // a whole warp: WMMA calls need all 32 lanes
  wmma::fragment<wmma::matrix_a, kWmma, kWmma, kWmma, half, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, kWmma, kWmma, kWmma, half, wmma::row_major> b;
  wmma::fragment<wmma::accumulator, kWmma, kWmma, kWmma, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int k = 0; k < K; k += kWmma) {
    wmma::load_matrix_sync(a, A + tile_m * kWmma * K + k, K);  // leading dimension: K
    wmma::load_matrix_sync(b, B + k * N + tile_n * kWmma, N);
    wmma::mma_sync(acc, a, b, acc);  // one tensor-core operation: acc += a b, 16 x 16 x 16
  }
  wmma::store_matrix_sync(C + tile_m * kWmma * N + tile_n * kWmma, acc, N, wmma::mem_row_major);
}

std::vector<half> random_halves(size_t n, uint64_t seed) {
  const std::vector<double> values = lesson::randn(n, seed);
  std::vector<half> out(n);
  for (size_t i = 0; i < n; i++) out[i] = __float2half(float(values[i]));
  return out;
}

template <typename T> T* to_device(const std::vector<T>& host) {
  T* device = nullptr;
  lesson::check_cuda(cudaMalloc(&device, host.size() * sizeof(T)), "cudaMalloc");
  lesson::check_cuda(
      cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
      "cudaMemcpy");
  return device;
}

}  // namespace

int main() try {
  const lesson::Device device = lesson::this_device();
  const int M = 4096, N = 4096, K = 4096;
  std::printf("device: %s\nC (%d, %d) = A (%d, %d) B (%d, %d), FP16 inputs, FP32 accumulation\n",
              device.name.c_str(), M, N, M, K, K, N);
  const std::vector<half> A = random_halves(size_t(M) * K, 1), B = random_halves(size_t(K) * N, 2);
  half* dA = to_device(A);
  half* dB = to_device(B);
  float* dC = to_device(std::vector<float>(size_t(M) * N));
  const int warps = (M / kWmma) * (N / kWmma);
  auto run = [&] {
    matmul_wmma_kernel<<<warps / kWarpsPerBlock, 32 * kWarpsPerBlock>>>(dC, dA, dB, M, N, K);
  };
  const double ms = lesson::time_ms(run, 10);

  // 500 entries spread over C against the same products in double on the CPU.
  std::vector<float> C(size_t(M) * N);
  lesson::check_cuda(cudaMemcpy(C.data(), dC, C.size() * sizeof(float), cudaMemcpyDeviceToHost),
                     "cudaMemcpy");
  double worst = 0;
  for (int64_t e = 0; e < int64_t(M) * N; e += int64_t(M) * N / 500) {
    const int64_t m = e / N, n = e % N;
    double want = 0;
    for (int k = 0; k < K; k++)
      want += double(__half2float(A[size_t(m * K + k)])) * __half2float(B[size_t(k * N + n)]);
    worst = std::max(worst, std::abs(double(C[size_t(e)]) - want));
  }
  const double tflops = 2.0 * M * N * K / (ms * 1e-3) / 1e12;
  std::printf("max |error| over 500 entries: %.2e (sums of %d products of size ~1, in FP32)\n",
              worst, K);
  std::printf("time %.2f ms: %.1f TFLOP/s", ms, tflops);
  if (device.peak_tensor_tflops > 0)
    std::printf(", %.0f%% of the FP16 tensor-core peak (%.0f TFLOP/s dense)",
                100 * tflops / device.peak_tensor_tflops, device.peak_tensor_tflops);
  std::printf("\n");
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson_12_tensor_cores: %s (this program needs a GPU)\n", e.what());
  return 1;
}
