// Tests of RoPE: the CPU reference (llm/backend/cpu/rope.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/rope.cu, suite "cuda") against it.
// The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "rope: rotate-half forward, relative positions, in place; backward by finite "
    "differences") {
  auto be = make_cpu_backend(DType::f64);
  // qkv of grouped-query attention: NH = 3 query heads, 1 key and 1 value head of hs = 4
  const int64_t NKV = 1, W = (NH + 2 * NKV) * hs, rotated = NH + NKV, pos0 = 2;
  const double theta = 100.0;
  const RopeFrequencies frequencies{theta};
  std::vector<double> inp = randn(B * T * W, 130), out(B * T * W);
  be->rope_forward(view(out, {B, T, W}), view(inp, {B, T, W}), int(hs), int(rotated), int(pos0),
                   frequencies);
  std::vector<double> expected = inp;  // the value head is copied
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t head = 0; head < rotated; head++)
        for (int64_t i = 0; i < hs / 2; i++) {
          const double angle = double(pos0 + t) / std::pow(theta, 2.0 * double(i) / double(hs));
          const int64_t a = (b * T + t) * W + head * hs + i, z = a + hs / 2;
          expected[a] = inp[a] * std::cos(angle) - inp[z] * std::sin(angle);
          expected[z] = inp[z] * std::cos(angle) + inp[a] * std::sin(angle);
        }
  CHECK(max_error(out, expected) < 1e-12);

  // in place gives the same result
  std::vector<double> in_place = inp;
  be->rope_forward(view(in_place, {B, T, W}), view(in_place, {B, T, W}), int(hs), int(rotated),
                   int(pos0), frequencies);
  CHECK(max_error(in_place, out) < 1e-15);

  // a query head and a key head, both moved on by the same number of positions, keep their dot
  // product: attention sees only the distance between positions
  auto rotated_dot = [&](int64_t q_pos, int64_t k_pos) {
    std::vector<double> q(hs), k(hs), rq(hs), rk(hs);
    for (int64_t c = 0; c < hs; c++) q[c] = inp[c], k[c] = inp[NH * hs + c];
    be->rope_forward(view(rq, {1, 1, hs}), view(q, {1, 1, hs}), int(hs), 1, int(q_pos),
                     frequencies);
    be->rope_forward(view(rk, {1, 1, hs}), view(k, {1, 1, hs}), int(hs), 1, int(k_pos),
                     frequencies);
    return dot(rq, rk);
  };
  CHECK(std::abs(rotated_dot(7, 3) - rotated_dot(11, 7)) < 1e-12);
  CHECK(std::abs(rotated_dot(7, 3) - rotated_dot(7, 4)) > 1e-3);

  std::vector<double> w = randn(B * T * W, 131);
  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(B * T * W);
    be->rope_forward(view(y, {B, T, W}), view(x, {B, T, W}), int(hs), int(rotated), int(pos0),
                     frequencies);
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(B * T * W, 132);
  std::vector<double> dinp = dinp0;
  be->rope_backward(view(dinp, {B, T, W}), view(w, {B, T, W}), int(hs), int(rotated), int(pos0),
                    frequencies);
  expect_gradient("dinp", loss, inp, minus(dinp, dinp0));
}

TEST_CASE("rope frequencies: llama3 scaling keeps the fast pairs, slows the slow, blends between") {
  // theta 10000, hs 16: f_i = 10^(-i/2), wavelengths 2 pi / f_i = 6.3, 19.9, 62.8, 199, ...
  // Against an original context of 64: below 64/4 kept, above 64/1 slowed 8 times.
  RopeFrequencies plain{10000.0};
  RopeFrequencies scaled = plain;
  scaled.llama3 = true, scaled.factor = 8.0, scaled.low_freq_factor = 1.0;
  scaled.high_freq_factor = 4.0, scaled.original_max_position_embeddings = 64;
  const int64_t hs = 16;
  for (int64_t i = 0; i < hs / 2; i++)
    CHECK(plain.inverse_frequency(i, hs) == doctest::Approx(std::pow(10.0, -0.5 * double(i))));
  CHECK(scaled.inverse_frequency(0, hs) == plain.inverse_frequency(0, hs));
  for (int64_t i = 3; i < hs / 2; i++)
    CHECK(scaled.inverse_frequency(i, hs) == doctest::Approx(plain.inverse_frequency(i, hs) / 8));
  // pairs 1 and 2 lie in the band: 64 / wavelength = 3.22 and 1.02 turns over the original
  // context, so s = (turns - 1) / 3 of the original frequency and 1 - s of the slowed one
  for (int64_t i : {1, 2}) {
    const double f = plain.inverse_frequency(i, hs);
    const double turns = 64.0 * f / (2.0 * 3.14159265358979323846);
    const double s = (turns - 1.0) / 3.0;
    CHECK(s > 0.0);
    CHECK(s < 1.0);
    CHECK(scaled.inverse_frequency(i, hs) == doctest::Approx(s * f + (1.0 - s) * f / 8));
  }
  // continuous at both edges of the band: a head size that puts a wavelength just inside and just
  // outside each threshold gives nearly the same frequency on both sides
  for (const double edge_wavelength : {64.0 / 4.0, 64.0 / 1.0}) {
    RopeFrequencies at_edge = scaled;
    // pair 1 of hs 4: f_1 = theta^(-1/2), so theta = (wavelength / (2 pi))^2 puts it on the edge
    const double theta = std::pow(edge_wavelength / (2.0 * 3.14159265358979323846), 2.0);
    at_edge.theta = theta * (1.0 + 1e-9);
    const double above = at_edge.inverse_frequency(1, 4);
    at_edge.theta = theta * (1.0 - 1e-9);
    const double below = at_edge.inverse_frequency(1, 4);
    CHECK(above == doctest::Approx(below).epsilon(1e-6));
  }
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda rope: forward (also in place) and backward on the q and k heads of qkv, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // Rows of a grouped-query qkv: NH q heads and NKV k heads rotated, NKV v heads copied. pos0 1000:
  // angles of hundreds of radians; theta 500000: Llama 3's base; llama3: Llama 3.1's rescaled
  // frequencies (factor 8, low 1, high 4, trained at 8192 positions).
  struct Case {
    int B, T, NH, NKV, hs, pos0;
    RopeFrequencies frequencies;
  };
  const RopeFrequencies llama3{5e5, true, 8.0, 1.0, 4.0, 8192};
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 1, 1, 16, 0, {1e4}},
                                                   {2, 7, 4, 2, 8, 3, {1e4}},
                                                   {3, 33, 4, 1, 16, 0, {5e5}},
                                                   {2, 5, 2, 2, 32, 1000, {1e4}},
                                                   {1, 6, 2, 1, 32, 5000, llama3}},
                                                  {{2, 1024, 32, 8, 128, 0, llama3}});
  uint32_t seed = 580;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, hs = k.hs, W = (k.NH + 2 * k.NKV) * hs;
    const int n_rotated = k.NH + k.NKV;
    const std::string label = shape_label(
        {{"B", B}, {"T", T}, {"W", W}, {"hs", hs}, {"rotated", n_rotated}, {"pos0", k.pos0}});
    const std::vector<double> x = randn(B * T * W, seed++);
    Twin inp(*gpu, bf16, {B, T, W}, x), out(*gpu, bf16, {B, T, W});
    cpu->rope_forward(out.cpu(), inp.cpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    gpu->rope_forward(out.gpu(), inp.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    // Both sides: the f32 cos and sin of a double angle, then the same f32 products.
    const Tolerance tol = rounded_formula(rms(out.cpu_values()));
    expect_close("rope out " + label, out.gpu_values(), out.cpu_values(), tol);
    Twin in_place(*gpu, bf16, {B, T, W}, x);
    gpu->rope_forward(in_place.gpu(), in_place.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    expect_close("rope out in place " + label, in_place.gpu_values(), out.cpu_values(), tol);

    Twin dout(*gpu, bf16, {B, T, W}, randn(B * T * W, seed++));
    Twin dinp(*gpu, bf16, {B, T, W}, randn(B * T * W, seed++));
    cpu->rope_backward(dinp.cpu(), dout.cpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    gpu->rope_backward(dinp.gpu(), dout.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    expect_close("rope dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

TEST_SUITE_END();
