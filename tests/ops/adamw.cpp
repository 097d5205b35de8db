// Tests of AdamW: the CPU reference (llm/backend/cpu/adamw.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/adamw.cu, suite "cuda") against it.
// The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE("adamw: one step against the hand-computed update") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 9;
  const std::vector<double> p0 = randn(N, 90), g = randn(N, 91), m0 = randn(N, 92, 0.1);
  std::vector<double> v0 = randn(N, 93, 0.1);
  for (double& x : v0) x = std::abs(x);  // a second moment is never negative
  AdamWSettings s;
  s.learning_rate = 0.01f;
  s.beta1 = 0.9f;
  s.beta2 = 0.95f;
  s.eps = 1e-8f;
  s.weight_decay = 0.1f;
  s.step = 3;
  const float grad_scale = 0.5f;

  std::vector<double> expected(N), expected_m(N), expected_v(N);
  for (int64_t i = 0; i < N; i++) {
    const double lr = s.learning_rate, b1 = s.beta1, b2 = s.beta2, eps = s.eps, wd = s.weight_decay;
    const double gi = g[i] * grad_scale;
    expected_m[i] = b1 * m0[i] + (1 - b1) * gi;
    expected_v[i] = b2 * v0[i] + (1 - b2) * gi * gi;
    const double m_hat = expected_m[i] / (1 - b1 * b1 * b1);  // step 3
    const double v_hat = expected_v[i] / (1 - b2 * b2 * b2);
    expected[i] = p0[i] - lr * (m_hat / (std::sqrt(v_hat) + eps) + wd * p0[i]);
  }

  std::vector<double> p = p0, grad = g, m = m0, v = v0;
  be->adamw_update(view(p, {N}), view(grad, {N}), view(m, {N}), view(v, {N}), Tensor{}, s,
                   grad_scale);
  CHECK(max_error(p, expected) < 1e-15);  // the same double arithmetic
  CHECK(max_error(m, expected_m) < 1e-15);
  CHECK(max_error(v, expected_v) < 1e-15);
  CHECK(max_error(p, p0) > 1e-4);  // the step did move the parameters

  // with a master copy: the master is updated and copied into param
  std::vector<double> p2(N, 0.0), master = p0, m2 = m0, v2 = v0;
  be->adamw_update(view(p2, {N}), view(grad, {N}), view(m2, {N}), view(v2, {N}), view(master, {N}),
                   s, grad_scale);
  CHECK(max_error(master, expected) < 1e-15);
  CHECK(p2 == master);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda adamw: three steps update master, m and v as the CPU does; param = bf16(master)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  uint32_t seed = 800;
  for (const Shape shape : cases_for<Shape>({Shape{1}, Shape{1001}}, {Shape{4 * 768 * 768 + 3}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    // The CPU's parameters are its master weights: the CPU updates `master` (f32) in place, the GPU
    // updates its f32 master and writes param = bf16(master). Moments start at 0, as in training.
    Twin master(*gpu, f32, shape, randn(n, seed++));
    Twin m(*gpu, f32, shape, std::vector<double>(n, 0.0)),
        v(*gpu, f32, shape, std::vector<double>(n, 0.0));
    DeviceTensor param(*gpu, bf16, shape);
    gpu->convert(param, master.gpu());
    AdamWSettings s;
    s.learning_rate = 1e-2;
    s.beta1 = 0.9;
    s.beta2 = 0.95;
    s.eps = 1e-8;
    s.weight_decay = 0.1;
    const double grad_scale = 0.5;  // as global-norm clipping would pass; exact
    for (int64_t step = 1; step <= 3; step++) {
      s.step = step;
      Twin grad(*gpu, bf16, shape, randn(n, seed++));
      cpu->adamw_update(master.cpu(), grad.cpu(), m.cpu(), v.cpu(), Tensor{}, s, grad_scale);
      gpu->adamw_update(param, grad.gpu(), m.gpu(), v.gpu(), master.gpu(), s, grad_scale);
      const std::string at = " step " + std::to_string(step) + " " + label;
      // The same element-wise f32 formula, perhaps with fused multiply-adds or another order: a few
      // f32 roundings (2^-24 each) per step, so 1e-6 relative, absolute against the tensor's RMS.
      const Tolerance f32_tol{1e-6, 1e-6 * rms(master.cpu_values()),
                              "element-wise f32: a few 2^-24 roundings"};
      expect_close("adamw master" + at, master.gpu_values(), master.cpu_values(), f32_tol);
      expect_close("adamw m" + at, m.gpu_values(), m.cpu_values(),
                   {1e-6, 1e-6 * rms(m.cpu_values()), "element-wise f32: a few 2^-24 roundings"});
      expect_close("adamw v" + at, v.gpu_values(), v.cpu_values(),
                   {1e-6, 1e-6 * rms(v.cpu_values()), "element-wise f32: a few 2^-24 roundings"});
      // param is exactly the GPU's master rounded to bf16
      const std::vector<double> master_gpu = master.gpu_values(),
                                param_gpu = tensor_to_host_f64(*gpu, param);
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; i++) wrong += param_gpu[i] != round_to(bf16, master_gpu[i]);
      INFO("adamw" << at << ": " << wrong << " params differ from bf16(master)");
      CHECK(wrong == 0);
    }
  }
}

TEST_SUITE_END();
