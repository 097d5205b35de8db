// Tests of scale_add (out = alpha a + beta b), the element-wise op of Muon's momentum and
// Newton-Schulz iteration: the CPU op is tested against the formula in tests/test_muon.cpp; here
// the CUDA kernel (kernels/scale_add.cu, suite "cuda") against the CPU
// (llm/backend/cpu/scale_add.cpp). The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "llm/train/optimizer.hpp"
#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cuda");
// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda scale_add: every bf16/f32 mix of out, a and b, in place and misaligned, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  const double alpha = 0.9, beta = -1.3;  // neither exact in f32: both sides round them the same
  // Both sides compute alpha a + beta b in f32 from the same inputs, perhaps with a fused
  // multiply-add on one side only: they differ by a few 2^-24 roundings of the larger term, at
  // most 2^-22 (|alpha| |a| + |beta| |b|), bounded with the largest |a| and |b|. A bf16 out adds
  // one rounding, 2^-8 of the value. A wrong coefficient, index or dtype errs by the values.
  const auto tolerance = [&](DType out, const std::vector<double>& a,
                             const std::vector<double>& b) {
    double a_max = 0, b_max = 0;
    for (double x : a) a_max = std::max(a_max, std::abs(x));
    for (double x : b) b_max = std::max(b_max, std::abs(x));
    const double f32_terms =
        std::ldexp(1.0, -22) * (std::abs(alpha) * a_max + std::abs(beta) * b_max);
    return out == bf16 ? Tolerance{std::ldexp(1.0, -8), f32_terms * (1 + std::ldexp(1.0, -8)),
                                   "f32 terms (2^-22 of the largest) and one bf16 rounding"}
                       : Tolerance{0.0, f32_terms, "f32 terms: 2^-22 of the largest"};
  };
  uint32_t seed = 850;
  for (const DType out_dtype : {bf16, f32})
    for (const DType a_dtype : {bf16, f32})
      for (const DType b_dtype : {bf16, f32}) {
        const std::string types = std::string("out ") + dtype_name(out_dtype) + ", a " +
                                  dtype_name(a_dtype) + ", b " + dtype_name(b_dtype);
        // n = 7 is one thread's tail, 1001 packs of 8 and a tail; offset 1 starts every view one
        // element into its buffer, off the 16-byte alignment: the one-element kernel.
        struct Case {
          int64_t n;
          int offset;
        };
        for (const Case k :
             cases_for<Case>({{1, 0}, {7, 0}, {1001, 0}, {1001, 1}}, {{4 * 768 * 768 + 3, 0}})) {
          const int64_t n = k.n, size = k.n + k.offset;
          const std::string label =
              types + ", n=" + std::to_string(n) + (k.offset ? " misaligned" : "");
          const auto part = [&](Tensor t) { return flat_range(t, k.offset, size); };
          // out starts random, not NaN: with an offset its first element is not written, and
          // stays the same on both sides.
          Twin a(*gpu, a_dtype, {size}, randn(size, seed++)),
              b(*gpu, b_dtype, {size}, randn(size, seed++)),
              out(*gpu, out_dtype, {size}, randn(size, seed++));
          cpu->scale_add(part(out.cpu()), alpha, part(a.cpu()), beta, part(b.cpu()));
          gpu->scale_add(part(out.gpu()), alpha, part(a.gpu()), beta, part(b.gpu()));
          expect_close("scale_add " + label, out.gpu_values(), out.cpu_values(),
                       tolerance(out_dtype, a.cpu_values(), b.cpu_values()));
          // In place, out = a (in a's dtype), as Muon updates its momentum and masters.
          if (out_dtype == a_dtype) {
            const std::vector<double> before = a.cpu_values();
            cpu->scale_add(part(a.cpu()), alpha, part(a.cpu()), beta, part(b.cpu()));
            gpu->scale_add(part(a.gpu()), alpha, part(a.gpu()), beta, part(b.gpu()));
            expect_close("scale_add in place " + label, a.gpu_values(), a.cpu_values(),
                         tolerance(a_dtype, before, b.cpu_values()));
          }
        }
      }

  // The check: one number of elements; in place only in one dtype.
  Twin a(*gpu, bf16, {8}, randn(8, seed++)), b(*gpu, f32, {8}, randn(8, seed++));
  CHECK(test_inputs::error_of([&] {
          gpu->scale_add(b.gpu(), 1.0, flat_range(a.gpu(), 0, 7), 1.0, b.gpu());
        }).find("scale_add: out has shape") != std::string::npos);
  Tensor a_as_f32 = a.gpu();  // a's bytes read as 4 f32
  a_as_f32.dtype = f32;
  a_as_f32.shape = Shape{4};
  CHECK(test_inputs::error_of([&] {
          gpu->scale_add(a_as_f32, 1.0, flat_range(a.gpu(), 0, 4), 1.0, flat_range(b.gpu(), 0, 4));
        }).find("in another dtype") != std::string::npos);
}

TEST_SUITE_END();
