// The CPU backend as a whole (llm/backend/cpu/cpu_backend.cpp): the gradient-check harness the op
// tests rely on, f32 against f64 over every op, the argument errors, the factories and convert.
// Suite "cpu"; the method: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE("gradcheck harness: passes a true gradient, names the index of a wrong one") {
  // f(x) = sum_i sin(x_i) x_{i+1} + x_0^3
  auto f = [](const std::vector<double>& x) {
    double s = x[0] * x[0] * x[0];
    for (size_t i = 0; i + 1 < x.size(); i++) s += std::sin(x[i]) * x[i + 1];
    return s;
  };
  const std::vector<double> x = randn(9, 1);
  std::vector<double> g(x.size(), 0.0);
  g[0] = 3 * x[0] * x[0];
  for (size_t i = 0; i + 1 < x.size(); i++) {
    g[i] += std::cos(x[i]) * x[i + 1];
    g[i + 1] += std::sin(x[i]);
  }
  expect_gradient("sin chain", f, x, g);

  // sampling for whole-model checks: evenly spaced, ends included
  const std::vector<int64_t> idx = gradcheck::sample_indices(101, 5);
  CHECK(idx == std::vector<int64_t>{0, 25, 50, 75, 100});
  gradcheck::Options sampled;
  sampled.max_checks = 4;
  CHECK(gradcheck::check_gradient(f, x, g, sampled).checked == 4);

  // in place, as a whole-model check perturbs the parameter memory itself
  std::vector<double> params = x;
  const gradcheck::Result in_place = gradcheck::check_gradient_in_place(
      [&] { return f(params); }, params.data(), static_cast<int64_t>(params.size()), g);
  CHECK(in_place.ok);
  CHECK(params == x);  // every coordinate restored exactly
}

// ---------------------------------------------------------------------------------------------
namespace {

// Runs every op once on one backend in dtype T, from the same double inputs, and returns each
// output converted to double, by name.
template <typename Scalar> std::map<std::string, std::vector<double>> run_every_op() {
  auto be = make_cpu_backend(dtype_of<Scalar>());
  auto cast = [](const std::vector<double>& v) { return std::vector<Scalar>(v.begin(), v.end()); };
  auto back = [](const std::vector<Scalar>& v) { return std::vector<double>(v.begin(), v.end()); };
  const int64_t N = B * T, OC = 2 * C, Vp = 16, V = 11;
  std::map<std::string, std::vector<double>> r;

  std::vector<Scalar> x = cast(randn(N * C, 200)), gw = cast(randn(C, 201, 0.2, 1.0)),
                      gb = cast(randn(C, 202)), y(N * C), mean(N), rstd(N);
  be->layernorm_forward(view(y, {N, C}), view(mean, {N}), view(rstd, {N}), view(x, {N, C}),
                        view(gw, {C}), view(gb, {C}));
  r["layernorm"] = back(y);
  std::vector<Scalar> dy = cast(randn(N * C, 203)), dx(N * C, 0), dgw(C, 0), dgb(C, 0);
  be->layernorm_backward(view(dx, {N, C}), view(dgw, {C}), view(dgb, {C}), view(dy, {N, C}),
                         view(x, {N, C}), view(gw, {C}), view(mean, {N}), view(rstd, {N}));
  r["layernorm dinp"] = back(dx);
  r["layernorm dweight"] = back(dgw);

  std::vector<Scalar> w = cast(randn(OC * C, 204, 0.3)), bias = cast(randn(OC, 205)), h(N * OC);
  be->matmul_forward(view(h, {N, OC}), view(y, {N, C}), view(w, {OC, C}), view(bias, {OC}));
  r["matmul"] = back(h);
  std::vector<Scalar> dh = cast(randn(N * OC, 206)), dmx(N * C, 0), dw(OC * C, 0), db(OC, 0);
  be->matmul_backward(view(dmx, {N, C}), view(dw, {OC, C}), view(db, {OC}), view(dh, {N, OC}),
                      view(y, {N, C}), view(w, {OC, C}));
  r["matmul dinp"] = back(dmx);
  r["matmul dweight"] = back(dw);
  r["matmul dbias"] = back(db);

  std::vector<Scalar> qkv = cast(randn(N * 3 * C, 207)), att(B * NH * T * T), ao(N * C);
  be->attention_forward(view(ao, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);
  r["attention"] = back(ao);
  std::vector<Scalar> dqkv(N * 3 * C, 0), scratch(B * NH * T * T);
  be->attention_backward(view(dqkv, {B, T, 3 * C}), view(scratch, {B, NH, T, T}),
                         view(dy, {B, T, C}), view(qkv, {B, T, 3 * C}), view(ao, {B, T, C}),
                         view(att, {B, NH, T, T}), NH);
  r["attention dqkv"] = back(dqkv);

  std::vector<Scalar> g(N * OC), dg(N * OC, 0);
  be->gelu_forward(view(g, {N * OC}), view(h, {N * OC}));
  be->gelu_backward(view(dg, {N * OC}), view(h, {N * OC}), view(dh, {N * OC}));
  r["gelu"] = back(g);
  r["gelu dinp"] = back(dg);

  std::vector<Scalar> logits = cast(randn(N * Vp, 208, 2.0)), losses(N);
  std::vector<int32_t> targets(N);
  for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((5 * n + 1) % V);
  be->classifier_forward(view(losses, {N}), view(logits, {N, Vp}), view(targets, {N}), V, 0.1f);
  r["classifier losses"] = back(losses);
  r["classifier dlogits"] = back(logits);
  return r;
}

}  // namespace

TEST_CASE("the f32 backend agrees with the f64 backend") {
  const auto f64 = run_every_op<double>();
  const auto f32 = run_every_op<float>();
  for (const auto& [name, reference] : f64) {
    // 1e-5: float's 6e-8 unit roundoff grown through sums of ~C terms and a softmax or two (the
    // largest seen is 1.2e-6, matmul dweight)
    const double error = max_error(f32.at(name), reference);
    INFO(name << ": f32 vs f64 error " << error);
    CHECK(error < 1e-5);
    CHECK(error > 0.0);  // it really ran in float
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("shape, dtype and device mistakes throw llm::Error naming the op and the tensor") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 4;
  std::vector<double> x(N * C, 1.0), y(N * C), mean(N), rstd(N), short_mean(N - 1), g(C, 1.0),
      b(C, 0.0);
  CHECK_THROWS_WITH_AS(
      be->layernorm_forward(view(y, {N, C}), view(short_mean, {N - 1}), view(rstd, {N}),
                            view(x, {N, C}), view(g, {C}), view(b, {C})),
      doctest::Contains("layernorm_forward: mean"), Error);
  std::vector<float> x32(N * C, 1.0f);
  CHECK_THROWS_WITH_AS(be->layernorm_forward(view(y, {N, C}), view(mean, {N}), view(rstd, {N}),
                                             view(x32, {N, C}), view(g, {C}), view(b, {C})),
                       doctest::Contains("inp is f32, expected f64"), Error);
  Tensor on_gpu = view(x, {N, C});
  on_gpu.device = Device::cuda;
  CHECK_THROWS_WITH_AS(be->gelu_forward(view(y, {N, C}), on_gpu), doctest::Contains("cuda"), Error);
  std::vector<double> w(5 * 11), o(N * 5);
  CHECK_THROWS_WITH_AS(
      be->matmul_forward(view(o, {N, 5}), view(x, {N, C}), view(w, {5, 11}), Tensor{}),
      doctest::Contains("matmul_forward: weight"), Error);
  std::vector<double> qkv(2 * 3 * 3 * C), ao(2 * 3 * C), att(2 * 5 * 9);
  CHECK_THROWS_WITH_AS(be->attention_forward(view(ao, {2, 3, C}), view(att, {2, 5, 3, 3}),
                                             view(qkv, {2, 3, 3 * C}), 5),
                       doctest::Contains("not divisible"), Error);
  std::vector<int32_t> tokens = {0, 9};
  std::vector<double> wte(4 * C), wpe(4 * C), enc(2 * C);
  CHECK_THROWS_WITH_AS(be->encoder_forward(view(enc, {1, 2, C}), view(tokens, {1, 2}),
                                           view(wte, {4, C}), view(wpe, {4, C}), 0),
                       doctest::Contains("token 9"), Error);
}

TEST_CASE("factories, allocation and dtype conversion") {
  CHECK(make_cpu_backend(DType::f32)->dtype() == DType::f32);
  CHECK(make_cpu_backend(DType::f32)->master_dtype() == DType::f32);
  CHECK(make_cpu_backend(DType::f64)->master_dtype() == DType::f64);
  CHECK_THROWS_AS(make_cpu_backend(DType::bf16), Error);
  CHECK_THROWS_AS(make_cpu_backend(DType::i32), Error);
  auto cpu = make_backend("cpu");
  CHECK(cpu->device() == Device::cpu);
  CHECK(cpu->dtype() == DType::f32);
  // Without a usable GPU (or without the CUDA backend in this build), "cuda" is a one-line error.
  std::string why;
  if (!cuda_available(&why)) {
    CHECK(!why.empty());
    CHECK_THROWS_WITH_AS(make_backend("cuda"), doctest::Contains(why.c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(make_backend("tpu"), doctest::Contains("tpu"), Error);

  for (size_t bytes : {size_t(1), size_t(100), size_t(4096), size_t(1000003)}) {
    void* p = cpu->allocate(bytes);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    cpu->release(p);
  }

  // f32 -> f64 -> bf16 -> f32: bf16 keeps 8 bits of mantissa, rounding to nearest even
  std::vector<float> src = {1.0f, -2.5f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 3.14159265f};
  std::vector<double> wide(src.size());
  std::vector<uint16_t> narrow(src.size());
  std::vector<float> again(src.size());
  Tensor narrow_t;
  narrow_t.data = narrow.data();
  narrow_t.dtype = DType::bf16;
  narrow_t.shape = Shape{static_cast<int64_t>(src.size())};
  const int64_t n = static_cast<int64_t>(src.size());
  cpu->convert(view(wide, {n}), view(src, {n}));
  cpu->convert(narrow_t, view(wide, {n}));
  cpu->convert(view(again, {n}), narrow_t);
  CHECK(wide[1] == -2.5);
  CHECK(again[0] == 1.0f);
  CHECK(again[1] == -2.5f);
  CHECK(again[2] == 1.0f);               // halfway between 1 and 1 + 1/128: ties to even
  CHECK(again[3] == 1.0f + 2.0f / 128);  // halfway the other side: rounds up to even
  CHECK(std::abs(again[4] - 3.14159265f) < 3.14159265f / 128);
}

TEST_SUITE_END();
