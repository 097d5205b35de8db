// The architecture view's blocks from the config's switches. See model_layout.hpp.
#include "visualizer/model_layout.hpp"

#include <cstdio>

namespace viz {

namespace {

// "name (rows, cols)".
std::string matrix(const char* name, long long rows, long long cols) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s (%lld, %lld)", name, rows, cols);
  return buf;
}

LayoutBlock norm_block(const llm::GPTConfig& c, const std::string& name, long long T) {
  // LayerNorm: y = (x - mean) / std * g + b;  RMSNorm: y = x / rms(x) * g (no bias, no centring).
  const long long C = c.n_embd;
  return {name, T, C, {}, "", c.rmsnorm() ? C : 2 * C};
}

}  // namespace

const char* norm_name(const llm::GPTConfig& c) { return c.rmsnorm() ? "RMSNorm" : "LayerNorm"; }

int kv_group(const llm::GPTConfig& c, int head) { return head / (c.n_head / c.kv_heads()); }

int64_t ModelLayout::total_params() const {
  int64_t total = 0;
  for (const LayoutBlock& b : input) total += b.params;
  for (const LayoutBlock& b : layer) total += n_layer * b.params;
  for (const LayoutBlock& b : output) total += b.params;
  return total;
}

ModelLayout model_layout(const llm::GPTConfig& c, long long T) {
  const long long C = c.n_embd, V = c.vocab_size, H = c.hidden_size();
  const long long NH = c.n_head, NKV = c.kv_heads(), hs = c.head_size();
  const long long Q = NH * hs, KV = NKV * hs;  // Q = C; KV < C under grouped-query attention
  const long long bias = c.bias ? 1 : 0;
  ModelLayout m;
  m.n_layer = c.n_layer;
  char buf[160];

  // ---- input: the token embedding (padding rows are not parameters), and the position's ----
  m.input.push_back({"token embedding", T, C, {matrix("wte", V, C)}, "", V * C});
  if (!c.rope())
    m.input.push_back({"position embedding",
                       T,
                       C,
                       {matrix("wpe", c.max_seq_len, C)},
                       "",
                       static_cast<int64_t>(c.max_seq_len) * C});

  // ---- one layer ----
  m.layer.push_back(norm_block(c, std::string(norm_name(c)) + " 1", T));
  LayoutBlock att;
  if (NKV == NH)
    std::snprintf(buf, sizeof buf, "attention x %lld heads", NH);
  else
    std::snprintf(buf, sizeof buf, "attention x %lld heads, %lld kv (GQA)", NH, NKV);
  att.name = buf;
  if (c.rope()) att.name += ", RoPE";
  att.rows = T;
  att.cols = C;
  att.matrices = {matrix("wq", Q, C), matrix("wk", KV, C), matrix("wv", KV, C), matrix("wo", C, C)};
  if (NKV == NH)
    std::snprintf(buf, sizeof buf, "q, k, v (%lld, %lld) each", T, Q);
  else
    std::snprintf(buf, sizeof buf, "q (%lld, %lld)  k, v (%lld, %lld) each", T, Q, T, KV);
  att.inside = buf;
  att.params = (Q + 2 * KV) * C + C * C + bias * (Q + 2 * KV + C);
  m.layer.push_back(att);
  m.layer.push_back(norm_block(c, std::string(norm_name(c)) + " 2", T));
  LayoutBlock mlp;
  mlp.rows = T;
  mlp.cols = C;
  if (c.swiglu()) {
    // down( silu(gate x) * up x ): three matrices, the first two fused in fcw as (2H, C)
    mlp.name = "MLP (SwiGLU)";
    mlp.matrices = {matrix("gate", H, C), matrix("up", H, C), matrix("down", C, H)};
    std::snprintf(buf, sizeof buf, "silu(gate) * up (%lld, %lld) -> down", T, H);
    mlp.params = 2 * H * C + C * H + bias * (2 * H + C);
  } else {
    // proj( act(fc x) ), act = gelu or relu2 = max(x, 0)^2
    mlp.name = c.relu2() ? "MLP (ReLU^2)" : "MLP (GELU)";
    mlp.matrices = {matrix("fc", H, C), matrix("proj", C, H)};
    std::snprintf(buf, sizeof buf, "%s(fc) (%lld, %lld) -> proj", c.relu2() ? "relu2" : "gelu", T,
                  H);
    mlp.params = H * C + C * H + bias * (H + C);
  }
  mlp.inside = buf;
  m.layer.push_back(mlp);

  // ---- output ----
  m.output.push_back(norm_block(c, std::string("final ") + norm_name(c), T));
  if (c.tie_embeddings)
    m.output.push_back(
        {"head: scores (tied to the token embedding)", T, V, {matrix("wte", V, C)}, "", 0});
  else
    m.output.push_back({"head: scores (lm_head)", T, V, {matrix("lm_head", V, C)}, "", V * C});
  return m;
}

}  // namespace viz
