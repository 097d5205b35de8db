// viz::model_layout, the architecture view's blocks: counts against the model's own parameter
// count and its size table (ParameterTensors::visit), and the blocks the switches make.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "llm/model/gpt.hpp"
#include "visualizer/model_layout.hpp"

namespace {

// The parameters the model allocates: its size table, less wte's and lm_head's padding rows.
int64_t allocated_parameters(const llm::GPTConfig& config) {
  llm::ParameterTensors p;
  p.config = config;
  int64_t total = 0;
  p.visit([&](const char* name, llm::Tensor&, llm::Shape shape) {
    int64_t n = shape.numel();
    if (std::strcmp(name, "wte") == 0 || std::strcmp(name, "lm_head") == 0)
      n = n / config.padded_vocab_size() * config.vocab_size;
    total += n;
  });
  return total;
}

// A tiny Llama-style shape: RMSNorm, RoPE, SwiGLU, 4 query heads sharing 2 key/value heads.
llm::GPTConfig tiny_llama() {
  llm::GPTConfig c;
  c.max_seq_len = 64, c.vocab_size = 256;
  c.n_layer = 3, c.n_head = 4, c.n_kv_head = 2, c.n_embd = 32, c.mlp_hidden = 64;
  c.norm = "rmsnorm", c.position = "rope", c.mlp = "swiglu", c.bias = false;
  return c;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the layout's parameters add up to the model's, for GPT-2 and Llama-style shapes") {
  llm::GPTConfig untied_with_bias = tiny_llama();
  untied_with_bias.tie_embeddings = false;
  untied_with_bias.bias = true;
  llm::GPTConfig gelu_gqa = llm::gpt2_preset("gpt2");  // GPT-2 with 4 key/value heads
  gelu_gqa.n_kv_head = 4;
  const llm::GPTConfig configs[] = {llm::gpt2_preset("gpt2"),
                                    llm::gpt2_preset("gpt2-medium"),
                                    llm::model_preset("smollm2-135m"),
                                    llm::model_preset("llama-3.2-1b"),
                                    llm::model_preset("llama-3-8b"),
                                    tiny_llama(),
                                    untied_with_bias,
                                    gelu_gqa};
  for (const llm::GPTConfig& c : configs) {
    CAPTURE(c.n_layer);
    CAPTURE(c.n_embd);
    const viz::ModelLayout m = viz::model_layout(c, 10);
    CHECK(m.total_params() == llm::count_parameters(c));
    CHECK(m.total_params() == allocated_parameters(c));
  }
  // GPT-2 small's published size.
  CHECK(viz::model_layout(llm::gpt2_preset("gpt2"), 1).total_params() == 124439808);
}

TEST_CASE("GPT-2: LayerNorm, a position embedding, a 4C GELU MLP, a tied head") {
  const llm::GPTConfig c = llm::gpt2_preset("gpt2");
  const viz::ModelLayout m = viz::model_layout(c, 7);
  REQUIRE(m.input.size() == 2);
  CHECK(m.input[1].name == "position embedding");
  CHECK(m.input[1].params == 1024 * 768);
  REQUIRE(m.layer.size() == 4);
  CHECK(m.layer[0].name == "LayerNorm 1");
  CHECK(m.layer[0].params == 2 * 768);
  CHECK(m.layer[1].name == "attention x 12 heads");
  CHECK(m.layer[1].inside == "q, k, v (7, 768) each");
  CHECK(m.layer[1].params == 4 * 768 * 768 + 4 * 768);
  CHECK(m.layer[3].name == "MLP (GELU)");
  CHECK(m.layer[3].matrices.size() == 2);
  CHECK(m.layer[3].matrices[0] == "fc (3072, 768)");
  CHECK(m.layer[3].inside == "gelu(fc) (7, 3072) -> proj");
  CHECK(m.output[0].name == "final LayerNorm");
  CHECK(m.output[1].params == 0);
  CHECK(m.output[1].rows == 7);
  CHECK(m.output[1].cols == 50257);
}

TEST_CASE("Llama-style: RMSNorm, no position embedding, GQA's smaller k and v, SwiGLU") {
  const llm::GPTConfig c = llm::model_preset("smollm2-135m");  // 9 heads, 3 kv, hs 64, H 1536
  const viz::ModelLayout m = viz::model_layout(c, 5);
  REQUIRE(m.input.size() == 1);
  CHECK(m.input[0].name == "token embedding");
  REQUIRE(m.layer.size() == 4);
  CHECK(m.layer[0].name == "RMSNorm 1");
  CHECK(m.layer[0].params == 576);
  CHECK(m.layer[2].name == "RMSNorm 2");
  CHECK(contains(m.layer[1].name, "9 heads, 3 kv"));
  CHECK(contains(m.layer[1].name, "RoPE"));
  CHECK(m.layer[1].inside == "q (5, 576)  k, v (5, 192) each");
  REQUIRE(m.layer[1].matrices.size() == 4);
  CHECK(m.layer[1].matrices[1] == "wk (192, 576)");
  CHECK(m.layer[1].params == 576 * (576 + 2 * 192) + 576 * 576);
  CHECK(m.layer[3].name == "MLP (SwiGLU)");
  REQUIRE(m.layer[3].matrices.size() == 3);
  CHECK(m.layer[3].matrices[0] == "gate (1536, 576)");
  CHECK(m.layer[3].matrices[1] == "up (1536, 576)");
  CHECK(m.layer[3].matrices[2] == "down (576, 1536)");
  CHECK(m.layer[3].params == 3 * 1536 * 576);
  CHECK(m.layer[3].inside == "silu(gate) * up (5, 1536) -> down");
  CHECK(m.output[0].name == "final RMSNorm");
  CHECK(m.output[1].params == 0);  // SmolLM2 ties its head

  const viz::ModelLayout untied = viz::model_layout(llm::model_preset("llama-3-8b"), 5);
  CHECK(untied.output[1].params == 128256LL * 4096);
}

TEST_CASE("query heads map to their key/value group") {
  const llm::GPTConfig smollm = llm::model_preset("smollm2-135m");  // 9 heads in 3 groups of 3
  CHECK(viz::kv_group(smollm, 0) == 0);
  CHECK(viz::kv_group(smollm, 2) == 0);
  CHECK(viz::kv_group(smollm, 3) == 1);
  CHECK(viz::kv_group(smollm, 5) == 1);
  CHECK(viz::kv_group(smollm, 8) == 2);
  const llm::GPTConfig gpt2 = llm::gpt2_preset("gpt2");  // every head its own
  CHECK(viz::kv_group(gpt2, 7) == 7);
}
