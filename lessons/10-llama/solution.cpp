// Lesson 10, reference solution: the library's own CPU kernels, the ones the model runs when its
// config says norm = "rmsnorm", position = "rope", mlp = "swiglu" (llm/model/config.hpp).
#include "lesson.hpp"
#include "llm/backend/cpu/rmsnorm.hpp"
#include "llm/backend/cpu/rope.hpp"
#include "llm/backend/cpu/swiglu.hpp"

namespace lesson10 {

void rmsnorm_forward(double* out, double* rstd, const double* inp, const double* weight, int64_t N,
                     int64_t C, double eps) {
  llm::cpu::rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
}

void rmsnorm_backward(double* dinp, double* dweight, const double* dout, const double* inp,
                      const double* weight, const double* rstd, int64_t N, int64_t C) {
  llm::cpu::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
}

void rope_forward(double* out, const double* inp, int64_t B, int64_t T, int64_t W, int64_t hs,
                  int64_t n_rotated, int64_t pos0, double theta) {
  llm::cpu::rope_forward(out, inp, B, T, W, hs, n_rotated, pos0, llm::RopeFrequencies{theta});
}

void rope_backward(double* dinp, const double* dout, int64_t B, int64_t T, int64_t W, int64_t hs,
                   int64_t n_rotated, int64_t pos0, double theta) {
  llm::cpu::rope_backward(dinp, dout, B, T, W, hs, n_rotated, pos0, llm::RopeFrequencies{theta});
}

void swiglu_forward(double* out, const double* inp, int64_t N, int64_t H) {
  llm::cpu::swiglu_forward(out, inp, N, H);
}

void swiglu_backward(double* dinp, const double* inp, const double* dout, int64_t N, int64_t H) {
  llm::cpu::swiglu_backward(dinp, inp, dout, N, H);
}

}  // namespace lesson10
