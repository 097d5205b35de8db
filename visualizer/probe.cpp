// The model probe: checkpoint loading and the forward pass on a worker thread. See probe.hpp.
#include "visualizer/probe.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <Eigen/Dense>

#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace viz {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

namespace {

// The logit lens at position t of batch row 0: for the embedding and after each layer, top-k of
// softmax(head . norm_f(x)), with the model's own final norm and output head:
//   LayerNorm  y = (x - mean(x)) / sqrt(var(x) + 1e-5) * g + b     (GPT-2; eps fixed in the ops)
//   RMSNorm    y = x / sqrt(mean(x^2) + eps) * g                    (Llama; eps = config.norm_eps)
std::vector<ProbeResult::LensRow> logit_lens(llm::GPT& model, int t) {
  const llm::GPTConfig& c = model.config();
  const int C = c.n_embd, V = c.vocab_size;
  const float* gain = model.params.lnfw.ptr<float>();
  const float* bias = c.rmsnorm() ? nullptr : model.params.lnfb.ptr<float>();
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      head(model.params.head().ptr<float>(), V, C);  // the first V rows of (Vp, C)
  std::vector<ProbeResult::LensRow> rows;
  Eigen::VectorXf y(C);
  for (int l = -1; l < c.n_layer; l++) {
    const llm::Tensor stream =
        l < 0 ? model.acts.encoded : model.acts.residual3.slice(l);  // (B, T, C)
    const float* x = stream.slice(0).slice(t).ptr<float>();
    double mean = 0, var = 0;
    if (!c.rmsnorm()) {
      for (int i = 0; i < C; i++) mean += x[i];
      mean /= C;
    }
    for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);  // mean 0: mean(x^2) * C
    const double eps = c.rmsnorm() ? c.norm_eps : 1e-5;
    const double rstd = 1.0 / std::sqrt(var / C + eps);
    for (int i = 0; i < C; i++)
      y[i] = static_cast<float>((x[i] - mean) * rstd) * gain[i] + (bias ? bias[i] : 0.0f);
    const Eigen::VectorXf logits = head * y;
    // softmax, then the top k
    float max = logits[0];  // (a loop: Eigen's AVX-512 maxCoeff trips a false GCC 12 warning)
    for (int v = 1; v < V; v++) max = std::max(max, logits[v]);
    double z = 0;
    for (int v = 0; v < V; v++) z += std::exp(static_cast<double>(logits[v] - max));
    std::vector<int32_t> ids(V);
    for (int v = 0; v < V; v++) ids[v] = v;
    const int k = std::min(ProbeResult::kLensTop, V);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    ProbeResult::LensRow row;
    for (int i = 0; i < k; i++) {
      row.ids.push_back(ids[i]);
      row.probs.push_back(
          static_cast<float>(std::exp(static_cast<double>(logits[ids[i]] - max)) / z));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Root mean square of n floats.
float rms(const float* x, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += static_cast<double>(x[i]) * x[i];
  return n ? static_cast<float>(std::sqrt(sum / n)) : 0.0f;
}

// The embeddings, each block's loudness and the MLP's change per token, from the activations of a
// forward pass over one sequence of T tokens (batch row 0).
void record_activity(const llm::GPT& model, int T, ProbeResult& r) {
  const llm::GPTConfig& c = model.config();
  const int C = c.n_embd, L = c.n_layer;
  const size_t TC = static_cast<size_t>(T) * C;
  const llm::ActivationTensors& a = model.acts;
  const float* encoded = a.encoded.slice(0).ptr<float>();  // (T, C)
  r.embeddings.assign(encoded, encoded + TC);
  r.embedding_rms = rms(encoded, TC);
  r.layers.resize(L);
  r.mlp_change.resize(static_cast<size_t>(L) * T);
  for (int l = 0; l < L; l++) {
    auto layer = [&](const llm::Tensor& t) { return t.slice(l).slice(0).ptr<float>(); };  // (T, C)
    ProbeResult::LayerActivity& act = r.layers[l];
    act.ln1 = rms(layer(a.ln1), TC);
    act.attention = rms(layer(a.attproj), TC);
    act.ln2 = rms(layer(a.ln2), TC);
    act.mlp = rms(layer(a.fcproj), TC);
    act.residual = rms(layer(a.residual3), TC);
    const float* mlp = layer(a.fcproj);
    const float* in = layer(a.residual2);
    for (int t = 0; t < T; t++)
      r.mlp_change[static_cast<size_t>(l) * T + t] =
          rms(mlp + t * C, C) / std::max(rms(in + t * C, C), 1e-12f);
  }
  r.lnf_rms = rms(a.lnf.slice(0).ptr<float>(), TC);
  r.logits_rms = rms(r.last_logits.data(), r.last_logits.size());
}

}  // namespace

void compute_rollout(AttentionMaps& m) {
  const int T = m.T;
  std::vector<double> R(static_cast<size_t>(T) * T, 0.0), A(R.size()), next(R.size());
  for (int i = 0; i < T; i++) R[i * T + i] = 1.0;  // before layer 0 every position is itself
  for (int l = 0; l < m.L; l++) {
    // A = (mean over heads + I) / 2
    std::fill(A.begin(), A.end(), 0.0);
    for (int h = 0; h < m.NH; h++) {
      const float* p = m.map(l, h);
      for (size_t k = 0; k < A.size(); k++) A[k] += p[k] / (2.0 * m.NH);
    }
    for (int i = 0; i < T; i++) A[i * T + i] += 0.5;
    // R = A R   (causal: A[i][k] = 0 for k > i and R[k][j] = 0 for j > k)
    std::fill(next.begin(), next.end(), 0.0);
    for (int i = 0; i < T; i++)
      for (int k = 0; k <= i; k++) {
        const double a = A[i * T + k];
        if (a == 0.0) continue;
        for (int j = 0; j <= k; j++) next[i * T + j] += a * R[k * T + j];
      }
    R.swap(next);
  }
  m.rollout.assign(R.begin(), R.end());
}

AttentionMaps synthetic_attention(int L, int NH, int T) {
  AttentionMaps m;
  m.L = L;
  m.NH = NH;
  m.T = T;
  m.p.assign(static_cast<size_t>(L) * NH * T * T, 0.0f);
  for (int l = 0; l < L; l++)
    for (int h = 0; h < NH; h++) {
      float* p = &m.p[(static_cast<size_t>(l) * NH + h) * T * T];
      for (int i = 0; i < T; i++) {
        double sum = 0;
        for (int j = 0; j <= i; j++) {
          double w = 1.0;
          if (h == 0)
            w = j + 1;
          else if (h == 1)
            w = (j == i - 1 || i == 0) ? 20.0 : 1.0;
          else if (h == 2)
            w = (j == 0) ? 20.0 : 1.0;
          p[i * T + j] = static_cast<float>(w);
          sum += w;
        }
        for (int j = 0; j <= i; j++) p[i * T + j] = static_cast<float>(p[i * T + j] / sum);
      }
    }
  compute_rollout(m);
  return m;
}

std::string printable_token(const std::string& text) {
  std::string out;
  char hex[8];
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // A whole UTF-8 sequence passes through; a lone or broken byte (GPT-2 and byte tokens can split
    // a character) is shown as <0xAB>.
    const int len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool valid = len > 0 && i + len <= text.size();
    for (int k = 1; valid && k < len; k++)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      std::snprintf(hex, sizeof hex, "<0x%02X>", c);
      out += hex;
      i++;
      continue;
    }
    if (c == ' ')
      out += "\xC2\xB7";  // U+00B7 middle dot
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7F) {
      std::snprintf(hex, sizeof hex, "<0x%02X>", c);
      out += hex;
    } else {
      out.append(text, i, len);
    }
    i += len;
  }
  return out.empty() ? "\xE2\x88\x85" : out;  // U+2205 for an empty token
}

std::string token_label(const ProbeResult& r, int32_t id) {
  if (!r.tokenizer) return std::to_string(id);
  try {
    return printable_token(r.tokenizer->decode_token(id));
  } catch (const std::exception&) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "#%d", id);
    return buf;
  }
}

ModelProbe::ModelProbe(std::function<void()> on_done)
    : on_done_(std::move(on_done)), thread_([this] { worker(); }) {}

ModelProbe::~ModelProbe() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    pending_.reset();
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t ModelProbe::request(const std::filesystem::path& checkpoint, const std::string& prompt) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = ++next_id_;
    for (const auto& cached : cache_)
      if (cached->checkpoint == checkpoint && cached->prompt == prompt) {  // answered before
        result_ = cached;
        result_request_ = id;
        pending_.reset();
        return id;
      }
    pending_ = Request{id, checkpoint, prompt};
  }
  wake_.notify_all();
  return id;
}

std::shared_ptr<const ProbeResult> ModelProbe::result() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return result_;
}

bool ModelProbe::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ || pending_.has_value();
}

uint64_t ModelProbe::last_request() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_id_;
}

void ModelProbe::worker() {
  for (;;) {
    Request request;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      request = std::move(*pending_);
      pending_.reset();
      running_ = true;
    }
    std::shared_ptr<const ProbeResult> result = run(request);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (result->error.empty()) {
        cache_.insert(cache_.begin(), result);
        if (cache_.size() > kCacheEntries) cache_.pop_back();
      }
      if (request.id > result_request_) {  // a cache hit may have answered a newer request already
        result_ = std::move(result);
        result_request_ = request.id;
      }
      running_ = false;
    }
    if (on_done_) on_done_();
  }
}

std::shared_ptr<const ProbeResult> ModelProbe::run(const Request& request) {
  auto r = std::make_shared<ProbeResult>();
  r->id = request.id;
  r->checkpoint = request.checkpoint;
  r->prompt = request.prompt;
  try {
    // (Re)load when the checkpoint changes. A failure leaves nothing loaded, so a fixed file loads
    // on the next request.
    if (!model_ || loaded_ != request.checkpoint) {
      const auto t0 = std::chrono::steady_clock::now();
      model_.reset();
      tokenizer_.reset();
      loaded_.clear();
      const llm::GPTConfig config = llm::read_checkpoint_config(request.checkpoint);
      if (!backend_) backend_ = llm::make_cpu_backend();
      auto model = std::make_unique<llm::GPT>(config, *backend_);
      llm::load_model_weights(request.checkpoint, *model);
      tokenizer_ = llm::load_tokenizer(request.checkpoint);
      model_ = std::move(model);
      loaded_ = request.checkpoint;
      r->load_ms = ms_since(t0);
    }
    llm::GPT& model = *model_;
    const llm::GPTConfig& c = model.config();
    r->config = c;
    r->tokenizer = tokenizer_;

    r->tokens = tokenizer_->encode(request.prompt);
    llm::check(!r->tokens.empty(), "the prompt is empty: type some text");
    if (static_cast<int>(r->tokens.size()) > c.max_seq_len) {
      r->tokens.erase(r->tokens.begin(), r->tokens.end() - c.max_seq_len);
      r->truncated = true;
    }
    for (int32_t id : r->tokens) r->labels.push_back(printable_token(tokenizer_->decode_token(id)));

    const int T = static_cast<int>(r->tokens.size());
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(r->tokens.data(), nullptr, 1, T);
    r->forward_ms = ms_since(t0);

    // acts.att is (L, B, NH, T, T) probabilities on the CPU backend (a flash-attention backend
    // would keep only log-sum-exps: then there is nothing to show).
    const llm::Tensor att = model.acts.att;
    llm::check(att.shape.rank == 5 && att.shape[1] == 1 && att.shape[2] == c.n_head &&
                   att.shape[3] == T && att.shape[4] == T,
               std::string("this backend keeps attention state ") + att.shape.str() +
                   ", not the probabilities (L, B, NH, T, T)");
    AttentionMaps& m = r->attention;
    m.L = c.n_layer;
    m.NH = c.n_head;
    m.T = T;
    m.p.resize(static_cast<size_t>(m.L) * m.NH * T * T);
    for (int l = 0; l < m.L; l++) {
      const float* src = att.slice(l).slice(0).ptr<float>();  // (NH, T, T)
      std::copy_n(src, static_cast<size_t>(m.NH) * T * T,
                  &m.p[static_cast<size_t>(l) * m.NH * T * T]);
    }
    compute_rollout(m);

    const float* logits = model.acts.logits.slice(0).slice(T - 1).ptr<float>();  // (Vp)
    r->last_logits.assign(logits, logits + c.vocab_size);
    r->logit_lens = logit_lens(model, T - 1);
    record_activity(model, T, *r);
    r->probe_ms = ms_since(t0);
  } catch (const std::exception& e) {
    r->error = request.checkpoint.filename().string() + ": " + e.what();
  }
  return r;
}

}  // namespace viz
