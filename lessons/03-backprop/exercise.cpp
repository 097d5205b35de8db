// Lesson 03: backprop by hand. Write the bodies below; `scripts/lesson 03` tells you what is wrong.
// Plain loops are the point here: write out the sums of lesson.hpp, in double.
#include "lesson.hpp"

#include <cmath>
#include <numbers>  // std::numbers::pi

namespace lesson03 {

std::vector<double> numerical_gradient(const std::function<double(const std::vector<double>&)>& f,
                                       std::vector<double> x, double h) {
  // TODO: for each i: move x[i] by +h, evaluate f, by -h, evaluate f, restore x[i];
  //       g[i] = (f_plus - f_minus) / (2h).
  return std::vector<double>(x.size(), 0.0);
}

void linear_forward(double* out, const double* inp, const double* weight, const double* bias,
                    int64_t N, int64_t C, int64_t OC) {
  // TODO: out[n*OC + o] = bias[o] (or 0) + sum over c of inp[n*C + c] * weight[o*C + c]
}

void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                     const double* inp, const double* weight, int64_t N, int64_t C, int64_t OC) {
  // TODO: three sums, each ADDED to what the buffer already holds. Skip dinp / dbias when nullptr.
}

void gelu_forward(double* out, const double* inp, int64_t N) {
  // TODO
}

void gelu_backward(double* dinp, const double* inp, const double* dout, int64_t N) {
  // TODO: differentiate gelu(x) by hand (product rule, tanh' = 1 - tanh^2), then dinp += dout *
  // gelu'.
}

void layernorm_forward(double* out, double* mean, double* rstd, const double* inp,
                       const double* weight, const double* bias, int64_t N, int64_t C) {
  // TODO: per row n: mean[n], rstd[n] = 1 / sqrt(var + 1e-5), then out.
}

void layernorm_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                        const double* inp, const double* weight, const double* mean,
                        const double* rstd, int64_t N, int64_t C) {
  // TODO: per row: recompute xhat = (x - mean) rstd; g = dout * weight; the two row means of
  // g and g * xhat; then the three += of lesson.hpp.
}

}  // namespace lesson03
