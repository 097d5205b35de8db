// viz::ModelProbe on GPT-2 and Llama-style checkpoints: the logit lens after the last layer goes
// through the model's own final norm (LayerNorm or RMSNorm) and output head, so its last row must
// equal the model's prediction; the attention maps are one per query head, rows summing to 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include "llm/backend/backend.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "tests/test_inputs.hpp"
#include "visualizer/probe.hpp"

namespace {

llm::GPTConfig tiny(bool llama, bool tied) {
  llm::GPTConfig c;
  c.max_seq_len = 32, c.vocab_size = 256;
  c.n_layer = 2, c.n_head = 4, c.n_embd = 32;
  if (llama) {
    c.norm = "rmsnorm", c.position = "rope", c.mlp = "swiglu", c.mlp_hidden = 48;
    c.n_kv_head = 2, c.bias = false, c.norm_eps = 1e-6;
  }
  c.tie_embeddings = tied;
  return c;
}

// Writes a random-weight checkpoint of `config` and runs the probe on it.
std::shared_ptr<const viz::ProbeResult> probe(const llm::GPTConfig& config, const char* name) {
  const auto dir = test_inputs::fresh_dir(name);
  auto backend = llm::make_cpu_backend();
  llm::GPT model(config, *backend);
  model.init_weights(7);
  // Varied final gains, and embeddings shifted off zero mean (+0.5 in every channel): LayerNorm
  // removes the shift, RMSNorm keeps it, so the lens with the wrong norm would differ.
  float* g = model.params.lnfw.ptr<float>();
  for (int i = 0; i < config.n_embd; i++) g[i] = 0.5f + 0.1f * (i % 7);
  float* wte = model.params.wte.ptr<float>();
  for (int64_t i = 0; i < model.params.wte.numel(); i++) wte[i] += 0.5f;
  const llm::ByteTokenizer tokenizer;
  llm::save_model_checkpoint(dir, model, &tokenizer);

  viz::ModelProbe p;
  const uint64_t id = p.request(dir, "To be, or not to be");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((p.busy() || !p.result() || p.result()->id != id) &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto r = p.result();
  REQUIRE(r);
  REQUIRE(r->error == "");
  return r;
}

void check(const viz::ProbeResult& r, const llm::GPTConfig& c) {
  // The model's own softmax over the last position's logits, top 5.
  const std::vector<float>& z = r.last_logits;
  REQUIRE(z.size() == static_cast<size_t>(c.vocab_size));
  const double max = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (float v : z) sum += std::exp(v - max);
  std::vector<int32_t> order(z.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](int32_t a, int32_t b) { return z[a] > z[b]; });
  REQUIRE(r.logit_lens.size() == static_cast<size_t>(c.n_layer + 1));
  const viz::ProbeResult::LensRow& last = r.logit_lens.back();
  REQUIRE(last.ids.size() == 5);
  for (int k = 0; k < 5; k++) {
    CAPTURE(k);
    CHECK(last.ids[k] == order[k]);
    CHECK(last.probs[k] == doctest::Approx(std::exp(z[order[k]] - max) / sum).epsilon(1e-4));
  }
  // One map per query head (NH, not NKV), each causal row a distribution.
  const viz::AttentionMaps& m = r.attention;
  CHECK(m.NH == c.n_head);
  CHECK(m.L == c.n_layer);
  for (int l = 0; l < m.L; l++)
    for (int h = 0; h < m.NH; h++)
      for (int i = 0; i < m.T; i++) {
        const float* row = m.map(l, h) + static_cast<size_t>(i) * m.T;
        CHECK(std::accumulate(row, row + i + 1, 0.0) == doctest::Approx(1.0).epsilon(1e-5));
      }
}

}  // namespace

TEST_CASE("GPT-2 shape: the logit lens's last row is the model's prediction") {
  const llm::GPTConfig c = tiny(false, true);
  check(*probe(c, "viz_probe_gpt2"), c);
}

TEST_CASE("Llama-style (RMSNorm, RoPE, SwiGLU, GQA): the same, through RMSNorm") {
  const llm::GPTConfig c = tiny(true, true);
  check(*probe(c, "viz_probe_llama"), c);
}

TEST_CASE("Llama-style with its own lm_head: the lens reads the head, not wte") {
  const llm::GPTConfig c = tiny(true, false);
  check(*probe(c, "viz_probe_llama_untied"), c);
}
