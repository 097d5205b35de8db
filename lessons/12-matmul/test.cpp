// Lesson 12 tests: your three matmuls against llm::cpu::matmul_forward (in double) on random
// matrices whose sizes are not multiples of the tiles, plus exact tile multiples and 1 x 1 x 1.
// Each launch is watched for races and accesses past the ends (lessons/common/cuda_check.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/cuda_check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/matmul.hpp"

using namespace lesson12;

namespace {

struct Shape {
  int M, N, K;
};

std::vector<float> random_floats(size_t n, uint64_t seed) {
  const std::vector<double> values = lesson::randn(n, seed);
  return std::vector<float>(values.begin(), values.end());
}

using Matmul = void (*)(float*, const float*, const float*, int, int, int);

void check_matmul(const char* name, Matmul matmul, const Shape& s) {
  const auto A = random_floats(size_t(s.M) * s.K, 1), B = random_floats(size_t(s.K) * s.N, 2);
  const auto C_before = random_floats(size_t(s.M) * s.N, 3);
  lesson::DeviceArray dA(A), dB(B), dC(C_before);
  const std::string what = std::string(name) + " (M = " + std::to_string(s.M) +
                           ", N = " + std::to_string(s.N) + ", K = " + std::to_string(s.K) + ")";
  if (!lesson::run_kernel(what, [&] { matmul(dC.data(), dA.data(), dB.data(), s.M, s.N, s.K); }))
    return;
  // The library computes out = inp weight^T with weight (N, K): pass B transposed.
  std::vector<double> A64(A.begin(), A.end()), Bt(size_t(s.N) * s.K), want(size_t(s.M) * s.N);
  for (int k = 0; k < s.K; k++)
    for (int n = 0; n < s.N; n++) Bt[size_t(n) * s.K + k] = B[size_t(k) * s.N + n];
  llm::cpu::matmul_forward<double>(want.data(), A64.data(), Bt.data(), nullptr, s.M, s.K, s.N);
  // Every value written and wrong (no NaN, no write past the end): an index is wrong everywhere.
  const std::vector<float> got = dC.to_host();
  int64_t wrong = 0;
  bool any_nan = false;
  for (size_t i = 0; i < got.size(); i++) {
    any_nan |= std::isnan(got[i]);
    wrong += !(std::abs(got[i] - want[i]) <= 1e-5 + 1e-5 * std::abs(want[i]));
  }
  if (wrong == int64_t(got.size()) && got != C_before && !any_nan &&
      dC.first_overwritten_guard() < 0)
    FAIL_CHECK(what << ": every value of C is wrong, so an index is wrong everywhere, not only at "
                       "an edge. Check which elements of A and B each thread reads (row m of A, "
                       "column n of B, each step at its offset k0) and, in the tiled kernels, "
                       "which tile elements it stores and multiplies.");
  // float sums of K products of size ~1, in another order: a few 1e-6 of sqrt(K)
  lesson::expect_device_close(what + ": C", dC, want, {{"m", s.M}, {"n", s.N}}, 1e-5, 1e-5);
}

const Shape kShapes[] = {{70, 45, 33}, {64, 64, 16}, {1, 1, 1}, {130, 70, 20}};

}  // namespace

TEST_CASE("matmul_naive: one thread per element of C") {
  for (const Shape& s : kShapes) check_matmul("matmul_naive", matmul_naive, s);
}

TEST_CASE("matmul_shared: kTile x kTile tiles in shared memory") {
  for (const Shape& s : kShapes) check_matmul("matmul_shared", matmul_shared, s);
}

TEST_CASE("matmul_registers: kThreadM x kThreadN results per thread, in registers") {
  for (const Shape& s : kShapes) check_matmul("matmul_registers", matmul_registers, s);
}
