// Lesson 08, reference solution: the logit lens with the library's layernorm and matmul kernels
// (the model's own head, applied early); entropy and rollout written out, as glassbox-viz computes
// them (visualizer/probe.cpp).
#include <algorithm>
#include <cmath>

#include "lesson.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"

namespace lesson08 {

namespace {
const double* f64(const llm::Tensor& t) { return static_cast<const double*>(t.data); }
}  // namespace

std::vector<double> logit_lens(llm::GPT& model, int layer) {
  const llm::GPTConfig& c = model.config();
  const int64_t N = int64_t(model.acts.B) * model.acts.T, C = c.n_embd, V = c.vocab_size,
                Vp = c.padded_vocab_size();
  std::vector<double> ln(N * C), mean(N), rstd(N), logits(N * Vp), probs(N * V);
  llm::cpu::layernorm_forward<double>(ln.data(), mean.data(), rstd.data(),
                                      f64(model.acts.residual3.slice(layer)),
                                      f64(model.params.lnfw), f64(model.params.lnfb), N, C);
  llm::cpu::matmul_forward<double>(logits.data(), ln.data(), f64(model.params.wte), nullptr, N, C,
                                   Vp);
  for (int64_t n = 0; n < N; n++) {
    const double* z = logits.data() + n * Vp;
    const double m = *std::max_element(z, z + V);
    double sum = 0;
    for (int64_t v = 0; v < V; v++) sum += probs[n * V + v] = std::exp(z[v] - m);
    for (int64_t v = 0; v < V; v++) probs[n * V + v] /= sum;
  }
  return probs;
}

std::vector<double> entropy(const std::vector<double>& probs, int64_t N, int64_t V) {
  std::vector<double> h(N, 0.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t v = 0; v < V; v++) {
      const double p = probs[n * V + v];
      if (p > 0) h[n] -= p * std::log(p);
    }
  return h;
}

std::vector<double> attention_rollout(llm::GPT& model, int b) {
  const llm::GPTConfig& c = model.config();
  const int64_t T = model.acts.T, NH = c.n_head;
  std::vector<double> R(T * T, 0.0), A(T * T), next(T * T);
  for (int64_t i = 0; i < T; i++) R[i * T + i] = 1.0;
  for (int l = 0; l < c.n_layer; l++) {
    const double* att = f64(model.acts.att.slice(l).slice(b));  // (NH, T, T)
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = 0; j < T; j++) {
        double mean = 0;
        for (int64_t h = 0; h < NH; h++) mean += att[(h * T + i) * T + j];
        A[i * T + j] = 0.5 * (mean / double(NH) + (i == j ? 1.0 : 0.0));
      }
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = 0; j < T; j++) {
        double s = 0;
        for (int64_t k = 0; k < T; k++) s += A[i * T + k] * R[k * T + j];
        next[i * T + j] = s;
      }
    R.swap(next);
  }
  return R;
}

}  // namespace lesson08
