#pragma once
// defines: viz::AttentionMaps, viz::ProbeResult, viz::ModelProbe: the CPU model run on a worker
// thread so the UI never waits for a forward pass.
//
// The UI thread calls request(checkpoint, prompt) (cheap, never blocks) and reads result() each
// frame: a shared_ptr to an immutable snapshot, swapped under a mutex when the worker finishes.
// Only the newest request matters: one that arrives while the worker is busy replaces any older
// pending one. The worker keeps the last checkpoint's model loaded, so a new prompt costs one
// forward pass.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llm/model/config.hpp"

namespace llm {
class Backend;
class GPT;
class Tokenizer;
}  // namespace llm

namespace viz {

// Attention probabilities of one sequence: p[l][h][i][j] is how much query position i of head h in
// layer l attends to key position j (each row sums to 1; j > i is masked to 0 by causality).
struct AttentionMaps {
  int L = 0, NH = 0, T = 0;
  std::vector<float> p;        // (L, NH, T, T)
  std::vector<float> rollout;  // (T, T), see compute_rollout
  const float* map(int l, int h) const { return &p[(static_cast<size_t>(l) * NH + h) * T * T]; }
  bool empty() const { return p.empty(); }
};

// Attention rollout (Abnar & Zuidema, 2020): how much each position's final representation draws on
// each input token, following attention through all layers with the residual connection counted as
// identity: A_l = (mean_h att_l + I) / 2, rollout = A_{L-1} ... A_1 A_0.   (T, T), rows sum to 1.
void compute_rollout(AttentionMaps& maps);

// A known attention pattern for tests and docs (no model needed). Causal rows, for every layer:
//   head 0: p[i][j] = (j + 1) / sum_{k<=i} (k + 1)    later keys brighter, left to right
//   head 1: mostly the previous token                   a sub-diagonal
//   head 2: mostly the first token                      an "attention sink" column
//   head h > 2: uniform over j <= i
AttentionMaps synthetic_attention(int L, int NH, int T);

struct ProbeResult {
  uint64_t id = 0;  // the request it answers
  std::filesystem::path checkpoint;
  std::string prompt;
  std::string error;  // non-empty: nothing below is valid
  llm::GPTConfig config;
  std::shared_ptr<const llm::Tokenizer> tokenizer;
  std::vector<int32_t> tokens;
  std::vector<std::string> labels;  // one printable label per token
  bool truncated = false;           // the prompt was longer than the context; its end was kept
  AttentionMaps attention;
  std::vector<float> last_logits;  // (V) logits after the last token
  // Logit lens (nostalgebraist, 2020): what the model would predict after the last token if the
  // residual stream stopped after layer l: softmax(wte . lnf(x_l)). Row 0 is the embedding, row l+1
  // layer l; the last row is the model's real prediction. Top kLensTop tokens per row.
  static constexpr int kLensTop = 5;
  struct LensRow {
    std::vector<int32_t> ids;
    std::vector<float> probs;
  };
  std::vector<LensRow> logit_lens;  // (L + 1)

  // For story mode and the architecture view.
  std::vector<float>
      embeddings;  // (T, C) token + position embedding: the vector each token starts as
  // Root mean square of each block's output over the prompt's (T, C) values: how loud the block is.
  struct LayerActivity {
    float ln1 = 0, attention = 0, ln2 = 0, mlp = 0,
          residual = 0;  // residual: the stream out of the layer
  };
  float embedding_rms = 0, lnf_rms = 0, logits_rms = 0;
  std::vector<LayerActivity> layers;  // (L)
  // How much each layer's MLP changes each token's vector: |mlp output| / |vector going in|.
  std::vector<float> mlp_change;  // (L, T)
  double load_ms = 0, forward_ms = 0;
  double probe_ms = 0;  // forward + copying the maps + rollout + logit lens
};

class ModelProbe {
 public:
  // on_done runs on the worker thread after each result (e.g. glfwPostEmptyEvent to wake the UI).
  explicit ModelProbe(std::function<void()> on_done = {});
  ~ModelProbe();  // finishes the forward pass in flight, then joins
  ModelProbe(const ModelProbe&) = delete;
  ModelProbe& operator=(const ModelProbe&) = delete;

  // Asks for the prompt's probes under a checkpoint; returns the request id.
  uint64_t request(const std::filesystem::path& checkpoint, const std::string& prompt);
  // The newest finished result (null before the first).
  std::shared_ptr<const ProbeResult> result() const;
  // True while a request is pending or running.
  bool busy() const;
  uint64_t last_request() const;

 private:
  struct Request {
    uint64_t id;
    std::filesystem::path checkpoint;
    std::string prompt;
  };
  void worker();
  std::shared_ptr<const ProbeResult> run(const Request& request);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Request> pending_;
  bool running_ = false, stop_ = false;
  uint64_t next_id_ = 0;
  std::shared_ptr<const ProbeResult> result_;
  uint64_t result_request_ = 0;  // the request result_ answers; older answers are not shown
  // Finished results by (checkpoint, prompt), newest first, so scrubbing the timeline back and
  // forth does not reload models. A handful of entries (each holds L*NH*T*T floats).
  std::vector<std::shared_ptr<const ProbeResult>> cache_;
  static constexpr size_t kCacheEntries = 12;
  std::function<void()> on_done_;

  // Worker-only: the loaded model.
  std::filesystem::path loaded_;
  std::unique_ptr<llm::Backend> backend_;
  std::unique_ptr<llm::GPT> model_;
  std::shared_ptr<const llm::Tokenizer> tokenizer_;
  std::thread thread_;  // last: starts after everything above exists
};

// A token as a one-line label: spaces shown as '·', newlines as "\n", control characters and bytes
// that are not valid UTF-8 as <0xAB>.
std::string printable_token(const std::string& text);

// Token `id` of a result as printable_token() shows it ("#id" when the tokenizer cannot decode it;
// the bare id when the result has no tokenizer).
std::string token_label(const ProbeResult& result, int32_t id);

}  // namespace viz
