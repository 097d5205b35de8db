// Lesson 04: causal self-attention. Write the bodies below; `scripts/lesson 04` tells you what is
// wrong. Suggested order: causal_softmax, causal_softmax_backward, split_heads, merge_heads, then
// the layer built from them (std::vector scratch buffers are fine here).
#include "lesson.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lesson04 {

void causal_softmax(double* P, const double* S, int64_t T) {
  // TODO: per row i: the max over j <= i, the exponentials, their sum, P = exp / sum; zeros for j >
  // i.
}

void causal_softmax_backward(double* dS, const double* P, const double* dP, int64_t T) {
  // TODO: per row i: dot = sum_k P[i,k] dP[i,k]; dS[i,j] += P[i,j] (dP[i,j] - dot).
}

void split_heads(double* q, double* k, double* v, const double* qkv, int64_t B, int64_t T,
                 int64_t C, int64_t NH) {
  // TODO: three copies with the index formula of lesson.hpp.
}

void merge_heads(double* out, const double* y, int64_t B, int64_t T, int64_t C, int64_t NH) {
  // TODO
}

void attention_forward(double* out, double* att, const double* qkv, int64_t B, int64_t T, int64_t C,
                       int64_t NH) {
  // TODO: split_heads; for each (b, h): S = q k^T / sqrt(hs) (T x T), causal_softmax into
  // att + (b NH + h) T T, y = P v; merge_heads into out.
}

void attention_backward(double* dqkv, double* datt, const double* dout, const double* qkv,
                        const double* att, int64_t B, int64_t T, int64_t C, int64_t NH) {
  // TODO: split the heads of qkv and of dout (dout is (B, T, C): one "head block" like y);
  // per (b, h): dP = dy v^T, dv = P^T dy, dS = causal_softmax_backward(P, dP), dq = dS k /
  // sqrt(hs), dk = dS^T q / sqrt(hs); ADD dq, dk, dv into their channels of dqkv.
}

}  // namespace lesson04
