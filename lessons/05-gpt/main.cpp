// Lesson 05's result: your GPT on real text. A 4-layer character model of tinyshakespeare (65
// characters), GPT-2's initialisation: the loss of your forward at init is about ln 65, because
// an untrained model spreads its bet evenly. Then your backward, checked by finite differences of
// your forward on a sample of every parameter tensor.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/char_model.hpp"
#include "common/data.hpp"
#include "common/random.hpp"
#include "lesson.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"

using namespace lesson05;

int main() try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen, even in a pipe
  const std::string text = lesson::read_tinyshakespeare();
  const llm::CharTokenizer tokenizer = llm::CharTokenizer::from_corpus(text);
  const std::vector<int32_t> ids = tokenizer.encode(text.substr(0, 20000));
  // L = 4 blocks, NH = 4 heads, C = 64 channels, 64 positions
  const llm::GPTConfig config = lesson::char_gpt_config(tokenizer.vocab_size(), 4, 4, 64, 64);
  auto backend = llm::make_cpu_backend(llm::DType::f64);
  llm::GPT model(config, *backend);
  model.init_weights(1337);
  std::printf("model: V = %d, L = %d, C = %d, NH = %d, %lld parameters\n", config.vocab_size,
              config.n_layer, config.n_embd, config.n_head,
              (long long)llm::count_parameters(config));

  const int64_t B = 4, T = 64;
  std::vector<int32_t> tokens(B * T), targets(B * T);
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      tokens[b * T + t] = ids[b * 1000 + t];
      targets[b * T + t] = ids[b * 1000 + t + 1];
    }
  const Gpt params = view_of(model.params);
  GptActs acts;
  acts.resize(params, B, T);
  const double loss = gpt_forward(acts, params, tokens.data(), targets.data(), B, T);
  const double library = model.forward(tokens.data(), targets.data(), B, T);
  std::printf("loss at init: yours %.6f, llm::GPT %.6f, ln %d = %.6f\n", loss, library,
              config.vocab_size, std::log(double(config.vocab_size)));

  // Finite differences: nudge one parameter by +-h, rerun your forward, compare the slope with your
  // gradient.
  llm::GPT grads_holder(config, *backend);  // its params serve as zeroed gradient storage
  grads_holder.params.visit([&](const char*, llm::Tensor& t, llm::Shape) { backend->zero(t); });
  Gpt grads = view_of(grads_holder.params);
  gpt_backward(grads, acts, params, tokens.data(), targets.data(), B, T);
  struct Probe {
    const char* name;
    double* param;
    double* grad;
    int64_t n;
  };
  const std::vector<Probe> probes = {
      {"wte", params.wte, grads.wte, int64_t(config.vocab_size) * config.n_embd},
      {"wpe", params.wpe, grads.wpe, T * config.n_embd},
      {"qkvw (layer 0)", params.layers[0].qkvw, grads.layers[0].qkvw,
       3LL * config.n_embd * config.n_embd},
      {"fcb (layer 3)", params.layers[3].fcb, grads.layers[3].fcb, 4LL * config.n_embd},
      {"ln1w (layer 1)", params.layers[1].ln1w, grads.layers[1].ln1w, config.n_embd},
      {"lnfb", params.lnfb, grads.lnfb, config.n_embd}};
  const double h = 1e-5;
  double worst_all = 0;
  for (const Probe& p : probes) {
    double worst = 0;
    for (int k = 0; k < 8; k++) {
      const int64_t i = (k * 7919) % p.n;
      const double saved = p.param[i];
      p.param[i] = saved + h;
      const double up = gpt_forward(acts, params, tokens.data(), targets.data(), B, T);
      p.param[i] = saved - h;
      const double down = gpt_forward(acts, params, tokens.data(), targets.data(), B, T);
      p.param[i] = saved;
      const double numeric = (up - down) / (2 * h);
      worst = std::max(worst, std::abs(numeric - p.grad[i]) /
                                  std::max({std::abs(numeric), std::abs(p.grad[i]), 1e-3}));
    }
    worst_all = std::max(worst_all, worst);
    std::printf("  d loss / d %-16s finite differences vs yours: worst relative error %.1e\n",
                p.name, worst);
  }
  std::printf("gradient check %s\n", worst_all < 1e-5 ? "ok" : "FAILED: see lesson 05's tests");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 05: %s\n", e.what());
  return 1;
}
