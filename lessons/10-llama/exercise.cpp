// Lesson 10: RMSNorm, RoPE and SwiGLU. Write the bodies below; `scripts/lesson 10` tells you what
// is wrong. Suggested order: rmsnorm_forward, rmsnorm_backward, rope_forward, rope_backward,
// swiglu_forward, swiglu_backward. The formulas are in lesson.hpp and README.md.
#include "lesson.hpp"

#include <cmath>

namespace lesson10 {

void rmsnorm_forward(double* out, double* rstd, const double* inp, const double* weight, int64_t N,
                     int64_t C, double eps) {
  // TODO: per row n: the mean of x^2, rstd[n] = 1 / sqrt(mean + eps), out = x * rstd * weight.
}

void rmsnorm_backward(double* dinp, double* dweight, const double* dout, const double* inp,
                      const double* weight, const double* rstd, int64_t N, int64_t C) {
  // TODO: per row n: xhat = x * rstd, g = dout * weight, m = mean_c(g * xhat);
  // dinp += rstd * (g - xhat * m); dweight += dout * xhat.
}

void rope_forward(double* out, const double* inp, int64_t B, int64_t T, int64_t W, int64_t hs,
                  int64_t n_rotated, int64_t pos0, double theta) {
  // TODO: copy inp to out; then for every (b, t), head < n_rotated and i < hs/2: the angle
  // (pos0 + t) * theta^(-2i/hs), and the pair (i, i + hs/2) turned by it.
}

void rope_backward(double* dinp, const double* dout, int64_t B, int64_t T, int64_t W, int64_t hs,
                   int64_t n_rotated, int64_t pos0, double theta) {
  // TODO: the same loop with the angle negated, ADDED into dinp; the copied heads add dout.
}

void swiglu_forward(double* out, const double* inp, int64_t N, int64_t H) {
  // TODO: out[n, h] = silu(g) * u with g = inp[n, h], u = inp[n, H + h].
}

void swiglu_backward(double* dinp, const double* inp, const double* dout, int64_t N, int64_t H) {
  // TODO: s = sigmoid(g); dinp[n, h] += dout * u * s * (1 + g (1 - s));
  // dinp[n, H + h] += dout * g * s.
}

}  // namespace lesson10
