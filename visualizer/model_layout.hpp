#pragma once
// defines: viz::LayoutBlock, viz::ModelLayout, viz::model_layout: the model's blocks as the
// config's switches make them, with their shapes and parameter counts, for the architecture view.
//
// GPT-2 (the defaults) and a Llama-style decoder differ block by block:
//   input      token embedding + position embedding (learned)   | token embedding only (rope: the
//              position enters attention as a rotation of q and k)
//   norms      LayerNorm: gain and bias, 2C                     | RMSNorm: gain only, C
//   attention  q, k, v with NH heads each                        | GQA: NKV < NH key/value heads,
//              qkvw (3C, C)                                     | qkvw ((NH + 2 NKV) hs, C)
//   MLP        fc (H, C) -> gelu -> proj (C, H), H = 4C          | gate (H, C), up (H, C) ->
//                                                                |   silu(gate) * up -> down (C, H)
//   head       tied to the token embedding                      | its own lm_head (V, C) if untied
// plus biases on every linear layer when config.bias. The counts add up to llm::count_parameters.
#include <cstdint>
#include <string>
#include <vector>

#include "llm/model/config.hpp"

namespace viz {

// One box of the architecture view.
struct LayoutBlock {
  std::string name;                   // e.g. "RMSNorm 1", "attention x 9 (3 kv)", "MLP (SwiGLU)"
  long long rows = 0, cols = 0;       // its output for a prompt of T tokens: (T, C) or (T, V)
  std::vector<std::string> matrices;  // its weight matrices with their shapes, "wq (576, 576)"
  std::string inside;  // the shapes inside the block, e.g. "q (T, 576)  k, v (T, 192) each"
  int64_t params = 0;  // weights, biases and gains it owns (0 for a head tied to the embedding)
};

// The blocks in the order the data flows: input, one layer (every layer has the same blocks),
// output.
struct ModelLayout {
  std::vector<LayoutBlock> input;   // token embedding, and position embedding when learned
  std::vector<LayoutBlock> layer;   // norm 1, attention, norm 2, MLP
  std::vector<LayoutBlock> output;  // final norm, head
  int n_layer = 0;
  // Every parameter once: input + n_layer x layer + output.
  int64_t total_params() const;
};

// The layout of `config` for a prompt of T tokens.
ModelLayout model_layout(const llm::GPTConfig& config, long long T);

// "LayerNorm" or "RMSNorm": the norm the config uses.
const char* norm_name(const llm::GPTConfig& config);

// The key/value head that query head `head` reads: heads come in NKV groups of NH / NKV
// consecutive query heads, each group sharing one k and one v (grouped-query attention; with
// NKV = NH every head is its own group).
int kv_group(const llm::GPTConfig& config, int head);

}  // namespace viz
