#pragma once
// defines: gradcheck::Options, gradcheck::Result, gradcheck::check_gradient,
//          gradcheck::check_gradient_in_place, gradcheck::sample_indices
//
// Gradient checking by central finite differences: for a scalar function f of a flat vector x and
// a claimed gradient g = df/dx (from a backward pass), compare each checked g[i] with
//   numeric[i] = ( f(x + h e_i) - f(x - h e_i) ) / (2h)
// whose error is O(h^2 f''') from truncation plus O(eps |f| / h) from rounding; in double with
// h = 1e-5 both are around 1e-10, far below any real bug.
// The comparison is a relative error with a floor,
//   err[i] = |g[i] - numeric[i]| / max(|g[i]|, |numeric[i]|, floor)
// so large gradients are held to `tolerance` relatively and near-zero ones to `tolerance * floor`
// absolutely (a pure relative error would flag rounding noise on gradients that should be 0).
// Used per op by tests/ops/ and for the whole model (with max_checks to sample).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace gradcheck {

struct Options {
  double step = 1e-5;       // h
  double tolerance = 1e-6;  // largest accepted err[i]
  double floor = 1e-3;      // denominator floor, see above
  int64_t max_checks = 0;   // 0: check every index; else this many, evenly spaced (whole models)
};

struct Result {
  bool ok = true;
  int64_t checked = 0;       // indices compared
  int64_t worst_index = -1;  // index of the largest err
  double max_error = 0.0;    // err at worst_index
  double analytic = 0.0;     // g[worst_index]
  double numeric = 0.0;      // numeric[worst_index]

  // "gradcheck FAILED: worst index 17: analytic 0.123 numeric 0.124, relative error 8e-3 (tol
  // 1e-6)"
  std::string message() const {
    std::ostringstream s;
    s.precision(10);
    s << "gradcheck " << (ok ? "ok" : "FAILED") << " over " << checked << " indices: worst index "
      << worst_index << ": analytic " << analytic << " numeric " << numeric << ", relative error "
      << max_error;
    return s.str();
  }
};

// The indices to check: all of [0, n), or max_checks of them spread evenly (always including 0
// and n-1), so a whole-model check costs 2 * max_checks evaluations of f.
inline std::vector<int64_t> sample_indices(int64_t n, int64_t max_checks) {
  std::vector<int64_t> indices;
  if (max_checks <= 0 || max_checks >= n) {
    for (int64_t i = 0; i < n; i++) indices.push_back(i);
    return indices;
  }
  for (int64_t k = 0; k < max_checks; k++)
    indices.push_back(max_checks == 1 ? 0 : k * (n - 1) / (max_checks - 1));
  return indices;
}

// In place: x points to n doubles that `loss` reads (e.g. the parameters of an f64 model); each
// checked x[i] is moved to x[i] +- h, loss() is evaluated, and x[i] is restored exactly.
// analytic holds the claimed gradient, n values.
inline Result check_gradient_in_place(const std::function<double()>& loss, double* x, int64_t n,
                                      const std::vector<double>& analytic,
                                      const Options& options = {}) {
  Result result;
  if (static_cast<int64_t>(analytic.size()) != n) {
    result.ok = false;
    return result;
  }
  const double h = options.step;
  for (int64_t i : sample_indices(n, options.max_checks)) {
    const double saved = x[i];
    x[i] = saved + h;
    const double f_plus = loss();
    x[i] = saved - h;
    const double f_minus = loss();
    x[i] = saved;
    const double numeric = (f_plus - f_minus) / (2.0 * h);
    const double denominator = std::max({std::abs(analytic[i]), std::abs(numeric), options.floor});
    const double error = std::abs(analytic[i] - numeric) / denominator;
    result.checked++;
    if (result.worst_index < 0 || error > result.max_error || std::isnan(error)) {
      result.worst_index = i;
      result.max_error = error;
      result.analytic = analytic[i];
      result.numeric = numeric;
    }
  }
  result.ok = result.max_error <= options.tolerance && !std::isnan(result.max_error);
  return result;
}

// For a function of a flat vector: f is evaluated at copies of x with one coordinate moved.
inline Result check_gradient(const std::function<double(const std::vector<double>&)>& f,
                             std::vector<double> x, const std::vector<double>& analytic,
                             const Options& options = {}) {
  return check_gradient_in_place([&] { return f(x); }, x.data(), static_cast<int64_t>(x.size()),
                                 analytic, options);
}

}  // namespace gradcheck
