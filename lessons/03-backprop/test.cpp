// Lesson 03 tests: your forward and backward passes against the CPU backend's kernels
// (llm::cpu::matmul_*, gelu_*, layernorm_*) on random inputs, your gradients also against finite
// differences (tests/gradcheck.hpp), and your finite differences against a known derivative.
// Gradient buffers start from random values, not zeros: a backward must ADD its gradient.
#include <doctest/doctest.h>

#include <cmath>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/gelu.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"
#include "tests/gradcheck.hpp"

using namespace lesson03;
using lesson::Dims;
using lesson::expect_close;
using lesson::randn;

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

// A finite-difference check of an analytic gradient, failing with gradcheck's worst index.
void expect_gradcheck(const std::string& what,
                      const std::function<double(const std::vector<double>&)>& f,
                      const std::vector<double>& x, const std::vector<double>& analytic) {
  const gradcheck::Result r = gradcheck::check_gradient(f, x, analytic);
  CHECK_MESSAGE(r.ok, what << ": " << r.message());
}

}  // namespace

TEST_CASE("numerical_gradient: central differences of a function we can differentiate by hand") {
  // f(x) = sum_i sin(x_i) x_{i+1} + x_0^3,  df/dx_i = cos(x_i) x_{i+1} + sin(x_{i-1}) (+ 3 x_0^2)
  auto f = [](const std::vector<double>& x) {
    double s = x[0] * x[0] * x[0];
    for (size_t i = 0; i + 1 < x.size(); i++) s += std::sin(x[i]) * x[i + 1];
    return s;
  };
  const std::vector<double> x = randn(9, 1);
  std::vector<double> exact(x.size(), 0.0);
  exact[0] = 3 * x[0] * x[0];
  for (size_t i = 0; i < x.size(); i++) {
    if (i + 1 < x.size()) exact[i] += std::cos(x[i]) * x[i + 1];
    if (i > 0) exact[i] += std::sin(x[i - 1]);
  }
  expect_close("numerical_gradient(f, x, 1e-5)", numerical_gradient(f, x, 1e-5), exact, {}, 1e-7,
               1e-8);
  // edge case: a linear function's central difference is exact for any step (up to rounding)
  auto linear = [](const std::vector<double>& v) { return 2 * v[0] - 3 * v[1]; };
  expect_close("numerical_gradient(2 x0 - 3 x1, h = 0.5)",
               numerical_gradient(linear, {0.3, -1.2}, 0.5), {2.0, -3.0});
}

TEST_CASE("linear_forward: out = inp @ weight^T + bias") {
  const int64_t N = 7, C = 5, OC = 4;
  const auto inp = randn(N * C, 2), weight = randn(OC * C, 3), bias = randn(OC, 4);
  std::vector<double> got = randn(N * OC, 5),
                      want(N * OC);  // junk in the output: it must be overwritten
  linear_forward(got.data(), inp.data(), weight.data(), bias.data(), N, C, OC);
  llm::cpu::matmul_forward<double>(want.data(), inp.data(), weight.data(), bias.data(), N, C, OC);
  expect_close("linear_forward out", got, want, {{"N", N}, {"OC", OC}});
  // edge case: no bias
  linear_forward(got.data(), inp.data(), weight.data(), nullptr, N, C, OC);
  llm::cpu::matmul_forward<double>(want.data(), inp.data(), weight.data(), nullptr, N, C, OC);
  expect_close("linear_forward out, bias = nullptr", got, want, {{"N", N}, {"OC", OC}});
}

TEST_CASE("linear_backward: dinp, dweight, dbias, accumulated") {
  const int64_t N = 6, C = 5, OC = 3;
  const auto inp = randn(N * C, 6), weight = randn(OC * C, 7), dout = randn(N * OC, 8);
  const auto dinp0 = randn(N * C, 9), dweight0 = randn(OC * C, 10), dbias0 = randn(OC, 11);
  auto dinp = dinp0, dweight = dweight0, dbias = dbias0;
  auto rdinp = dinp0, rdweight = dweight0, rdbias = dbias0;
  linear_backward(dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(), weight.data(),
                  N, C, OC);
  llm::cpu::matmul_backward<double>(rdinp.data(), rdweight.data(), rdbias.data(), dout.data(),
                                    inp.data(), weight.data(), N, C, OC);
  expect_close("linear_backward dinp", dinp, rdinp, {{"N", N}, {"C", C}});
  expect_close("linear_backward dweight", dweight, rdweight, {{"OC", OC}, {"C", C}});
  expect_close("linear_backward dbias", dbias, rdbias, {{"OC", OC}});
  // edge case: dinp = nullptr and dbias = nullptr are skipped (the first layer, a layer without
  // bias)
  dweight = rdweight = dweight0;
  linear_backward(nullptr, dweight.data(), nullptr, dout.data(), inp.data(), weight.data(), N, C,
                  OC);
  llm::cpu::matmul_backward<double>(nullptr, rdweight.data(), nullptr, dout.data(), inp.data(),
                                    weight.data(), N, C, OC);
  expect_close("linear_backward dweight with dinp = dbias = nullptr", dweight, rdweight,
               {{"OC", OC}, {"C", C}});
  // and the weight gradient agrees with finite differences of L = sum(w * out)
  const auto w = randn(N * OC, 12);
  auto loss = [&](const std::vector<double>& W) {
    std::vector<double> out(N * OC);
    llm::cpu::matmul_forward<double>(out.data(), inp.data(), W.data(), nullptr, N, C, OC);
    return dot(w, out);
  };
  std::vector<double> g(OC * C, 0.0);
  linear_backward(nullptr, g.data(), nullptr, w.data(), inp.data(), weight.data(), N, C, OC);
  expect_gradcheck("linear_backward dweight vs finite differences", loss, weight, g);
}

TEST_CASE("gelu_forward and gelu_backward") {
  const int64_t N = 50;
  auto inp = randn(N, 13, 2.0);
  inp[0] = 0.5;  // edge cases: large |x|, where tanh saturates and gelu(x) ~ x or ~ 0
  inp[1] = 9.0;
  inp[2] = -9.0;
  std::vector<double> got = randn(N, 14), want(N);
  gelu_forward(got.data(), inp.data(), N);
  llm::cpu::gelu_forward<double>(want.data(), inp.data(), N);
  expect_close("gelu_forward out", got, want, {{"N", N}});
  const auto dout = randn(N, 15), dinp0 = randn(N, 16);
  auto dinp = dinp0, rdinp = dinp0;
  gelu_backward(dinp.data(), inp.data(), dout.data(), N);
  llm::cpu::gelu_backward<double>(rdinp.data(), inp.data(), dout.data(), N);
  expect_close("gelu_backward dinp", dinp, rdinp, {{"N", N}});
}

TEST_CASE("layernorm_forward: out, and the saved mean and rstd") {
  const int64_t N = 6, C = 10;
  auto inp = randn(N * C, 17, 3.0, 1.5);
  for (int64_t c = 0; c < C; c++) inp[5 * C + c] = 4.25;  // edge case: a constant row, var = 0
  const auto weight = randn(C, 18), bias = randn(C, 19);
  std::vector<double> out = randn(N * C, 20), mean = randn(N, 21), rstd = randn(N, 22);
  std::vector<double> rout(N * C), rmean(N), rrstd(N);
  layernorm_forward(out.data(), mean.data(), rstd.data(), inp.data(), weight.data(), bias.data(), N,
                    C);
  llm::cpu::layernorm_forward<double>(rout.data(), rmean.data(), rrstd.data(), inp.data(),
                                      weight.data(), bias.data(), N, C);
  expect_close("layernorm_forward out", out, rout, {{"N", N}, {"C", C}});
  expect_close("layernorm_forward mean", mean, rmean, {{"N", N}});
  expect_close("layernorm_forward rstd", rstd, rrstd, {{"N", N}});
}

TEST_CASE("layernorm_backward: dinp, dweight, dbias, accumulated") {
  const int64_t N = 5, C = 8;
  const auto inp = randn(N * C, 23, 2.0, -1.0), weight = randn(C, 24), bias = randn(C, 25),
             dout = randn(N * C, 26);
  std::vector<double> out(N * C), mean(N), rstd(N);
  llm::cpu::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), inp.data(),
                                      weight.data(), bias.data(), N, C);
  const auto dinp0 = randn(N * C, 27), dweight0 = randn(C, 28), dbias0 = randn(C, 29);
  auto dinp = dinp0, dweight = dweight0, dbias = dbias0, rdinp = dinp0, rdweight = dweight0,
       rdbias = dbias0;
  layernorm_backward(dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(),
                     weight.data(), mean.data(), rstd.data(), N, C);
  llm::cpu::layernorm_backward<double>(rdinp.data(), rdweight.data(), rdbias.data(), dout.data(),
                                       inp.data(), weight.data(), mean.data(), rstd.data(), N, C);
  expect_close("layernorm_backward dinp", dinp, rdinp, {{"N", N}, {"C", C}});
  expect_close("layernorm_backward dweight", dweight, rdweight, {{"C", C}});
  expect_close("layernorm_backward dbias", dbias, rdbias, {{"C", C}});
  // the input gradient against finite differences of L = sum(dout * layernorm(inp))
  auto loss = [&](const std::vector<double>& x) {
    std::vector<double> o(N * C), m(N), r(N);
    llm::cpu::layernorm_forward<double>(o.data(), m.data(), r.data(), x.data(), weight.data(),
                                        bias.data(), N, C);
    return dot(dout, o);
  };
  std::vector<double> g(N * C, 0.0), gw(C, 0.0), gb(C, 0.0);
  layernorm_backward(g.data(), gw.data(), gb.data(), dout.data(), inp.data(), weight.data(),
                     mean.data(), rstd.data(), N, C);
  expect_gradcheck("layernorm_backward dinp vs finite differences", loss, inp, g);
}
