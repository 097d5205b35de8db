#include "llm/train/hellaswag.hpp"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "llm/backend/host_copy.hpp"
#include "llm/core/error.hpp"

namespace llm {

namespace {

using nlohmann::json;

// One JSONL line as an example; throws llm::Error "WHERE: what is wrong".
HellaSwagExample parse_example(const std::string& line, const std::string& where) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  check(!j.is_discarded(), where + ": not valid JSON");
  check(j.is_object(), where + ": not a JSON object");
  for (const char* key : {"ctx", "endings", "label"})
    check(j.contains(key), where + ": no \"" + key + "\" key");
  check(j["ctx"].is_string(), where + ": \"ctx\" is not a string");
  check(j["endings"].is_array() && j["endings"].size() == kHellaSwagEndings,
        where + ": \"endings\" must be a list of " + std::to_string(kHellaSwagEndings) +
            " strings, found " +
            (j["endings"].is_array() ? std::to_string(j["endings"].size()) + " items" : "no list"));
  check(j["label"].is_number_integer(), where + ": \"label\" is not an integer");
  HellaSwagExample e;
  e.where = where;
  e.ctx = j["ctx"].get<std::string>();
  check(!e.ctx.empty(),
        where + ": \"ctx\" is empty (the first ending token needs a context to be scored)");
  for (int i = 0; i < kHellaSwagEndings; i++) {
    check(j["endings"][i].is_string(),
          where + ": ending " + std::to_string(i) + " is not a string");
    e.endings[i] = j["endings"][i].get<std::string>();
  }
  const int64_t label = j["label"].get<int64_t>();
  check(label >= 0 && label < kHellaSwagEndings, where + ": \"label\" " + std::to_string(label) +
                                                     " is out of range 0.." +
                                                     std::to_string(kHellaSwagEndings - 1));
  e.label = int(label);
  return e;
}

int argmin(const std::array<double, kHellaSwagEndings>& v) {
  return int(std::min_element(v.begin(), v.end()) - v.begin());  // the first of equal minima
}

}  // namespace

std::vector<HellaSwagExample> read_hellaswag(const std::filesystem::path& file) {
  std::ifstream in(file);
  check(bool(in), file.string() + ": cannot open the HellaSwag file");
  std::vector<HellaSwagExample> examples;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); number++) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;  // blank lines, e.g. at the end
    examples.push_back(parse_example(line, file.string() + ":" + std::to_string(number)));
  }
  check(!examples.empty(), file.string() + ": no examples");
  return examples;
}

std::vector<HellaSwagTokens> tokenize_hellaswag(const std::vector<HellaSwagExample>& examples,
                                                const Tokenizer& tokenizer) {
  std::vector<HellaSwagTokens> out(examples.size());
  for (size_t k = 0; k < examples.size(); k++) {
    const HellaSwagExample& e = examples[k];
    try {
      out[k].label = e.label;
      out[k].where = e.where;
      out[k].ctx = tokenizer.encode(e.ctx);
      // A tokenizer that asks for a BOS (Llama 3) gets it before the context, as in training.
      if (const auto bos = tokenizer.bos_token()) out[k].ctx.insert(out[k].ctx.begin(), *bos);
      for (int i = 0; i < kHellaSwagEndings; i++)
        out[k].endings[i] = tokenizer.encode(" " + e.endings[i]);
    } catch (const Error& error) { throw Error(e.where + ": " + error.what()); }
    check(!out[k].ctx.empty(), e.where + ": \"ctx\" encodes to no tokens");
  }
  return out;
}

HellaSwagResult evaluate_hellaswag(GPT& model, const std::vector<HellaSwagTokens>& examples,
                                   Comm& comm, int64_t limit, const HellaSwagProgress& progress) {
  const int64_t N =
      limit > 0 ? std::min<int64_t>(limit, int64_t(examples.size())) : int64_t(examples.size());
  const int B = kHellaSwagEndings, maxT = model.config().max_seq_len;
  const int W = comm.world_size(), rank = comm.rank();

  // One T for every example, so the rows of an example see the same shapes on any number of ranks
  // (and the activations are carved once): the longest row, at most the model's context.
  size_t longest = 0;
  for (int64_t k = 0; k < N; k++) {
    for (const auto& ending : examples[k].endings) {
      check(int64_t(ending.size()) < maxT,
            examples[k].where + ": an ending of " + std::to_string(ending.size()) +
                " tokens leaves no room for context in the model's " + std::to_string(maxT) +
                " positions");
      longest = std::max(longest, examples[k].ctx.size() + ending.size());
    }
  }
  const int T = int(std::min<size_t>(longest, size_t(maxT)));

  // sum_loss then mean_loss of each example, (N, 2, 4); zero where another rank scores the example.
  std::vector<double> losses(size_t(N) * 2 * B, 0.0);
  std::vector<int32_t> tokens(size_t(B) * T), targets(size_t(B) * T);
  const int64_t own = N / W + (rank < N % W ? 1 : 0);
  int64_t done = 0;
  for (int64_t k = rank; k < N; k += W) {
    const HellaSwagTokens& e = examples[k];
    // Row i: the context's last c_i tokens (all of them when they fit), the ending, zeros after;
    // target t is token t + 1, so ending token j (at c_i + j) is scored at position c_i + j - 1.
    std::fill(tokens.begin(), tokens.end(), 0);
    std::fill(targets.begin(), targets.end(), 0);
    std::array<int, kHellaSwagEndings> context_len{};
    for (int i = 0; i < B; i++) {
      const std::vector<int32_t>& ending = e.endings[i];
      const int c = int(std::min(e.ctx.size(), size_t(T) - ending.size()));
      context_len[i] = c;
      int32_t* row = tokens.data() + size_t(i) * T;
      std::copy(e.ctx.end() - c, e.ctx.end(), row);
      std::copy(ending.begin(), ending.end(), row + c);
      const int length = c + int(ending.size());
      std::copy(row + 1, row + length, targets.data() + size_t(i) * T);
    }
    model.forward(tokens.data(), targets.data(), B, T);
    const std::vector<double> token_loss =
        tensor_to_host_f64(model.backend(), model.acts.losses);  // (B, T)
    double* sum_loss = losses.data() + size_t(k) * 2 * B;
    double* mean_loss = sum_loss + B;
    for (int i = 0; i < B; i++) {
      const int n = int(e.endings[i].size());
      for (int j = 0; j < n; j++) sum_loss[i] += token_loss[size_t(i) * T + context_len[i] + j - 1];
      mean_loss[i] = sum_loss[i] / n;
    }
    if (progress && rank == 0) progress(++done, own);
  }
  Tensor view;
  view.data = losses.data();
  view.dtype = DType::f64;
  view.device = Device::cpu;
  view.shape = Shape{int64_t(losses.size())};
  comm.all_reduce(view, ReduceOp::sum);  // each entry has one non-zero term: exact

  HellaSwagResult result;
  result.examples = N;
  result.scores.resize(N);
  for (int64_t k = 0; k < N; k++) {
    HellaSwagScores& s = result.scores[k];
    s.label = examples[k].label;
    std::copy_n(losses.data() + size_t(k) * 2 * B, B, s.sum_loss.begin());
    std::copy_n(losses.data() + size_t(k) * 2 * B + B, B, s.mean_loss.begin());
    s.pred = argmin(s.sum_loss);
    s.pred_norm = argmin(s.mean_loss);
    result.correct += s.pred == s.label;
    result.correct_norm += s.pred_norm == s.label;
  }
  result.acc = double(result.correct) / double(N);
  result.acc_norm = double(result.correct_norm) / double(N);
  return result;
}

}  // namespace llm
