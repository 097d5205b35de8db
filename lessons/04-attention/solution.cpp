// Lesson 04, reference solution. The layer is the library's (llm::cpu::attention_forward /
// attention_backward). The pieces it is made of have no separate entry point in the library, so
// they are written out here, as the library's attention.cpp does them inside its loops.
#include <cmath>

#include "lesson.hpp"
#include "llm/backend/cpu/attention.hpp"

namespace lesson04 {

void causal_softmax(double* P, const double* S, int64_t T) {
  for (int64_t i = 0; i < T; i++) {
    double m = S[i * T];
    for (int64_t j = 1; j <= i; j++) m = std::max(m, S[i * T + j]);
    double sum = 0;
    for (int64_t j = 0; j <= i; j++) sum += P[i * T + j] = std::exp(S[i * T + j] - m);
    for (int64_t j = 0; j <= i; j++) P[i * T + j] /= sum;
    for (int64_t j = i + 1; j < T; j++) P[i * T + j] = 0;
  }
}

void causal_softmax_backward(double* dS, const double* P, const double* dP, int64_t T) {
  for (int64_t i = 0; i < T; i++) {
    double dot = 0;
    for (int64_t k = 0; k < T; k++) dot += P[i * T + k] * dP[i * T + k];
    for (int64_t j = 0; j < T; j++) dS[i * T + j] += P[i * T + j] * (dP[i * T + j] - dot);
  }
}

void split_heads(double* q, double* k, double* v, const double* qkv, int64_t B, int64_t T,
                 int64_t C, int64_t NH) {
  const int64_t hs = C / NH;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < hs; d++) {
          const int64_t dst = ((b * NH + h) * T + t) * hs + d,
                        src = (b * T + t) * 3 * C + h * hs + d;
          q[dst] = qkv[src];
          k[dst] = qkv[src + C];
          v[dst] = qkv[src + 2 * C];
        }
}

void merge_heads(double* out, const double* y, int64_t B, int64_t T, int64_t C, int64_t NH) {
  const int64_t hs = C / NH;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < hs; d++)
          out[(b * T + t) * C + h * hs + d] = y[((b * NH + h) * T + t) * hs + d];
}

void attention_forward(double* out, double* att, const double* qkv, int64_t B, int64_t T, int64_t C,
                       int64_t NH) {
  llm::cpu::attention_forward<double>(out, att, qkv, B, T, C, NH);
}

void attention_backward(double* dqkv, double* datt, const double* dout, const double* qkv,
                        const double* att, int64_t B, int64_t T, int64_t C, int64_t NH) {
  llm::cpu::attention_backward<double>(dqkv, datt, dout, qkv, att, B, T, C, NH);
}

}  // namespace lesson04
