// Lesson 03, reference solution: the CPU backend's kernels (llm/backend/cpu/) in double, and the
// finite differences of tests/gradcheck.hpp.
#include "lesson.hpp"
#include "llm/backend/cpu/gelu.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"

namespace lesson03 {

std::vector<double> numerical_gradient(const std::function<double(const std::vector<double>&)>& f,
                                       std::vector<double> x, double h) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); i++) {  // the loop of gradcheck::check_gradient
    const double saved = x[i];
    x[i] = saved + h;
    const double f_plus = f(x);
    x[i] = saved - h;
    const double f_minus = f(x);
    x[i] = saved;
    g[i] = (f_plus - f_minus) / (2.0 * h);
  }
  return g;
}

void linear_forward(double* out, const double* inp, const double* weight, const double* bias,
                    int64_t N, int64_t C, int64_t OC) {
  llm::cpu::matmul_forward<double>(out, inp, weight, bias, N, C, OC);
}

void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                     const double* inp, const double* weight, int64_t N, int64_t C, int64_t OC) {
  llm::cpu::matmul_backward<double>(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
}

void gelu_forward(double* out, const double* inp, int64_t N) {
  llm::cpu::gelu_forward<double>(out, inp, N);
}

void gelu_backward(double* dinp, const double* inp, const double* dout, int64_t N) {
  llm::cpu::gelu_backward<double>(dinp, inp, dout, N);
}

void layernorm_forward(double* out, double* mean, double* rstd, const double* inp,
                       const double* weight, const double* bias, int64_t N, int64_t C) {
  llm::cpu::layernorm_forward<double>(out, mean, rstd, inp, weight, bias, N, C);
}

void layernorm_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                        const double* inp, const double* weight, const double* mean,
                        const double* rstd, int64_t N, int64_t C) {
  llm::cpu::layernorm_backward<double>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
}

}  // namespace lesson03
