#pragma once
// defines: llm::cli::HellaSwagEvalOptions, run_hellaswag_eval (glassbox eval --task hellaswag).
//
//   glassbox eval --ckpt runs/gpt2/checkpoint --task hellaswag
//                 --data data/cache/hellaswag/hellaswag_val.jsonl --predictions preds.jsonl
//   mpirun -np 8 glassbox eval ...   (the examples are shared out over the ranks)
#include <cstdint>
#include <string>

namespace llm::cli {

struct HellaSwagEvalOptions {
  std::string ckpt, data, out, device = "cpu";
  std::string predictions;  // one JSON line per example, when set
  // Empty: the checkpoint's own tokenizer; else "byte" or "gpt2", as `glassbox tokenize` takes it.
  std::string tokenizer;
  std::string encoder = "data/cache/gpt2/encoder.json", vocab_bpe = "data/cache/gpt2/vocab.bpe";
  int64_t limit = 0;  // the first `limit` examples (0: all)
};

void run_hellaswag_eval(const HellaSwagEvalOptions& o);

}  // namespace llm::cli
