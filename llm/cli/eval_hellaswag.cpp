// glassbox eval --task hellaswag: HellaSwag accuracy of a checkpoint (the scoring is in
// llm/train/hellaswag.hpp), printed, written as JSON, and per example with --predictions.
#include "llm/cli/eval_hellaswag.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"
#include "llm/dist/comm.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"  // defines: make_gpt2_tokenizer
#include "llm/train/hellaswag.hpp"

namespace llm::cli {

namespace {

std::unique_ptr<Tokenizer> eval_tokenizer(const HellaSwagEvalOptions& o) {
  if (o.tokenizer.empty()) return load_tokenizer(o.ckpt);
  if (o.tokenizer == "byte") return std::make_unique<ByteTokenizer>();
  // HellaSwag's text is plain prose: no <|endoftext|> to allow.
  return make_gpt2_tokenizer(o.encoder, o.vocab_bpe, /*allow_special=*/false);
}

void write_predictions(const std::string& path, const HellaSwagResult& r) {
  std::ofstream out(path);
  check(bool(out), "--predictions: cannot write " + path);
  for (size_t k = 0; k < r.scores.size(); k++) {
    const HellaSwagScores& s = r.scores[k];
    out << nlohmann::json{{"index", k},
                          {"label", s.label},
                          {"pred", s.pred},
                          {"pred_norm", s.pred_norm},
                          {"sum_loss", s.sum_loss},
                          {"mean_loss", s.mean_loss}}
               .dump()
        << "\n";
  }
  check(bool(out.flush()), "--predictions: cannot write " + path);
}

}  // namespace

void run_hellaswag_eval(const HellaSwagEvalOptions& o) {
  if (o.device == "cuda") use_local_gpu();  // one GPU per rank under mpirun
  std::unique_ptr<Comm> comm = make_comm();
  const bool root = comm->is_root();
  const GPTConfig config = read_checkpoint_config(o.ckpt);
  const std::unique_ptr<Tokenizer> tokenizer = eval_tokenizer(o);
  check(tokenizer->vocab_size() <= config.vocab_size,
        "the " + tokenizer->name() + " tokenizer has " + std::to_string(tokenizer->vocab_size()) +
            " tokens, more than the vocabulary of the model in " + o.ckpt);
  // Every rank reads and encodes the whole file: a bad line stops all of them alike, and all agree
  // on the padded length.
  const std::vector<HellaSwagTokens> examples =
      tokenize_hellaswag(read_hellaswag(o.data), *tokenizer);
  std::unique_ptr<Backend> backend = make_backend(o.device);
  GPT model(config, *backend);
  load_model_weights(o.ckpt, model);

  const int64_t N =
      o.limit > 0 ? std::min<int64_t>(o.limit, int64_t(examples.size())) : int64_t(examples.size());
  if (root) {
    std::printf("hellaswag: %lld examples of %s on %d rank%s\n", (long long)N, o.data.c_str(),
                comm->world_size(), comm->world_size() > 1 ? "s (progress is rank 0's share)" : "");
    std::fflush(stdout);
  }
  // About ten progress lines: at every tenth of rank 0's share.
  const HellaSwagProgress progress = [](int64_t done, int64_t total) {
    if (done == total || done * 10 / total != (done - 1) * 10 / total) {
      std::printf("hellaswag: %lld/%lld examples\n", (long long)done, (long long)total);
      std::fflush(stdout);
    }
  };
  const HellaSwagResult r = evaluate_hellaswag(model, examples, *comm, N, progress);
  if (!root) return;
  std::printf("hellaswag: acc %.4f (%lld/%lld), acc_norm %.4f (%lld/%lld)\n", r.acc,
              (long long)r.correct, (long long)r.examples, r.acc_norm, (long long)r.correct_norm,
              (long long)r.examples);
  const nlohmann::json j = {{"checkpoint", o.ckpt}, {"task", "hellaswag"},
                            {"data", o.data},       {"examples", r.examples},
                            {"acc", r.acc},         {"acc_norm", r.acc_norm},
                            {"correct", r.correct}, {"correct_norm", r.correct_norm}};
  if (!o.predictions.empty()) write_predictions(o.predictions, r);
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << j.dump(2) << "\n";
    check(bool(out), "--out: cannot write " + o.out);
  }
  std::printf("%s\n", j.dump().c_str());
}

}  // namespace llm::cli
