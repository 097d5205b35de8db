// Tests of sum_of_squares: the CPU reference (llm/backend/cpu/reduce.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/reduce.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE("sum_of_squares accumulates in double; scale multiplies in place") {
  auto be = make_cpu_backend(DType::f64);
  std::vector<double> x = randn(1001, 100);
  double expected = 0;
  for (double v : x) expected += v * v;
  CHECK(std::abs(be->sum_of_squares(view(x, {1001})) - expected) < 1e-12 * expected);

  // 3 million f32 values of 0.3f: an f32 running sum would be off by ~1e-3 relative, double is not
  auto be32 = make_cpu_backend(DType::f32);
  const int64_t n = 3'000'000;
  std::vector<float> big(n, 0.3f);
  const double exact = static_cast<double>(n) * (double(0.3f) * double(0.3f));
  CHECK(std::abs(be32->sum_of_squares(view(big, {n})) - exact) < 1e-9 * exact);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda sum_of_squares: bf16 and f32 tensors against a host sum in double") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  uint32_t seed = 900;
  for (DType dtype : {gpu->dtype(), gpu->master_dtype()}) {
    for (int64_t n : cases_for<int64_t>({1, 7, 1001}, {3'000'001})) {
      std::vector<double> x = randn(n, seed++);
      for (double& value : x) value = round_to(dtype, value);
      DeviceTensor t(*gpu, dtype, {n});
      tensor_from_host_f64(*gpu, t, x);
      double expected = 0;
      for (double value : x) expected += value * value;
      // The contract accumulates in double. A GPU may use f32 for each thread's and each block's
      // partial sums: relative error ~(elements per thread + log2 block) 2^-24, about 1e-6 here;
      // 1e-5 allows that, while a single f32 running sum (~1e-3 off at 3 million) does not pass.
      const double result = gpu->sum_of_squares(t);
      INFO("sum_of_squares " << std::string(dtype_name(dtype)) << " n=" << n << ": gpu " << result
                             << ", host double " << expected << " (relative 1e-5 allowed)");
      CHECK(std::abs(result - expected) <= 1e-5 * expected);
    }
    // 3 million equal values: every partial sum in a long f32 chain would lose the low bits
    const int64_t n = 3'000'000;
    const double value = round_to(dtype, 0.3);
    DeviceTensor t(*gpu, dtype, {n});
    tensor_from_host_f64(*gpu, t, std::vector<double>(n, value));
    const double expected = double(n) * value * value, result = gpu->sum_of_squares(t);
    INFO("sum_of_squares " << std::string(dtype_name(dtype)) << " of 3e6 x " << value << ": gpu "
                           << result << ", exact " << expected);
    CHECK(std::abs(result - expected) <= 1e-5 * expected);
  }
}

TEST_SUITE_END();
