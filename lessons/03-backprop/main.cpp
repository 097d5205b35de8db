// Lesson 03's result: (1) the error of a finite-difference derivative as the step h shrinks:
// truncation error falls as h^2 until rounding error, growing as 1/h, takes over; (2) your three
// backward passes, checked against finite differences of your own forwards.
#include <cmath>
#include <cstdio>

#include "common/random.hpp"
#include "lesson.hpp"
#include "tests/gradcheck.hpp"

using namespace lesson03;

namespace {
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}
void report(const char* what, const gradcheck::Result& r) {
  std::printf("  %-26s worst relative error %.2e over %lld entries  %s\n", what, r.max_error,
              (long long)r.checked, r.ok ? "ok" : "WRONG");
}
}  // namespace

int main() {
  std::printf(
      "(1) d/dx of f(x) = x^3 sin(x) at x = 1.3 by central differences, your "
      "numerical_gradient:\n");
  const double x0 = 1.3, exact = 3 * x0 * x0 * std::sin(x0) + x0 * x0 * x0 * std::cos(x0);
  auto f = [](const std::vector<double>& v) { return v[0] * v[0] * v[0] * std::sin(v[0]); };
  for (double h = 1e-1; h > 1e-13; h /= 10) {
    const double g = numerical_gradient(f, {x0}, h)[0];
    std::printf("  h = %.0e   error %.2e\n", h, std::abs(g - exact));
  }

  std::printf(
      "(2) your backward passes vs finite differences of your forwards (L = sum(w * out)):\n");
  const int64_t N = 4, C = 6, OC = 5;
  const auto inp = lesson::randn(N * C, 1), weight = lesson::randn(OC * C, 2),
             bias = lesson::randn(OC, 3);
  const auto w = lesson::randn(N * OC, 4);
  {
    auto loss = [&](const std::vector<double>& x) {
      std::vector<double> out(N * OC);
      linear_forward(out.data(), x.data(), weight.data(), bias.data(), N, C, OC);
      return dot(w, out);
    };
    std::vector<double> dinp(N * C, 0.0), dweight(OC * C, 0.0), dbias(OC, 0.0);
    linear_backward(dinp.data(), dweight.data(), dbias.data(), w.data(), inp.data(), weight.data(),
                    N, C, OC);
    report("linear dinp", gradcheck::check_gradient(loss, inp, dinp));
  }
  {
    const auto wg = lesson::randn(N * C, 5);
    auto loss = [&](const std::vector<double>& x) {
      std::vector<double> out(N * C);
      gelu_forward(out.data(), x.data(), N * C);
      return dot(wg, out);
    };
    std::vector<double> dinp(N * C, 0.0);
    gelu_backward(dinp.data(), inp.data(), wg.data(), N * C);
    report("gelu dinp", gradcheck::check_gradient(loss, inp, dinp));
  }
  {
    const auto lw = lesson::randn(C, 6), lb = lesson::randn(C, 7), wl = lesson::randn(N * C, 8);
    auto loss = [&](const std::vector<double>& x) {
      std::vector<double> out(N * C), m(N), r(N);
      layernorm_forward(out.data(), m.data(), r.data(), x.data(), lw.data(), lb.data(), N, C);
      return dot(wl, out);
    };
    std::vector<double> out(N * C), m(N), r(N), dinp(N * C, 0.0), dw(C, 0.0), db(C, 0.0);
    layernorm_forward(out.data(), m.data(), r.data(), inp.data(), lw.data(), lb.data(), N, C);
    layernorm_backward(dinp.data(), dw.data(), db.data(), wl.data(), inp.data(), lw.data(),
                       m.data(), r.data(), N, C);
    report("layernorm dinp", gradcheck::check_gradient(loss, inp, dinp));
  }
  return 0;
}
