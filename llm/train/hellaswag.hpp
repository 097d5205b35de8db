#pragma once
// defines: llm::HellaSwagExample, read_hellaswag (the published JSONL), tokenize_hellaswag,
//          llm::HellaSwagScores, llm::evaluate_hellaswag (the multiple-choice accuracy of a model,
//          sharded over ranks)
//
// HellaSwag (Zellers et al., 2019): a context and four endings, one of them right. The model picks
// the ending it finds most likely given the context, scored as llm.c's evaluation scores it:
//
//   row i      = tokens(ctx) ++ tokens(" " + endings[i])                 (4 rows, padded to T)
//   loss_i[j]  = -log p(ending token j | everything before it)
//   sum_i      = sum_j loss_i[j]          acc:      pred      = argmin_i sum_i
//   mean_i     = sum_i / n_i              acc_norm: pred_norm = argmin_i mean_i
//
// (n_i = the ending's token count: llm.c's normalisation per token, not lm-eval-harness's per byte;
// ties go to the first ending, as torch.argmin does.) Context that does not fit the model's
// max_seq_len beside an ending is cut from the left.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

inline constexpr int kHellaSwagEndings = 4;

struct HellaSwagExample {
  std::string ctx;
  std::array<std::string, kHellaSwagEndings> endings;
  int label = 0;      // index of the right ending
  std::string where;  // "FILE:LINE", for error messages
};

// Reads one example per non-blank line: {"ctx": str, "endings": [4 str], "label": 0..3, ...} (other
// keys, like HellaSwag's "ind" and "activity_label", are ignored). A line that is not such an
// object throws llm::Error "FILE:LINE: what is wrong".
std::vector<HellaSwagExample> read_hellaswag(const std::filesystem::path& file);

// An example in token ids: tokens(ctx) and tokens(" " + ending) for each ending.
struct HellaSwagTokens {
  std::vector<int32_t> ctx;
  std::array<std::vector<int32_t>, kHellaSwagEndings> endings;
  int label = 0;
  std::string where;  // "FILE:LINE"
};
// Throws llm::Error "FILE:LINE: ..." for text the tokenizer cannot encode (a character outside a
// char vocabulary) or a context that encodes to nothing.
std::vector<HellaSwagTokens> tokenize_hellaswag(const std::vector<HellaSwagExample>& examples,
                                                const Tokenizer& tokenizer);

// One example's scores (the fields of --predictions' JSON lines).
struct HellaSwagScores {
  int label = 0;
  int pred = 0;                                       // argmin of sum_loss
  int pred_norm = 0;                                  // argmin of mean_loss
  std::array<double, kHellaSwagEndings> sum_loss{};   // nats over the ending's tokens
  std::array<double, kHellaSwagEndings> mean_loss{};  // sum_loss / the ending's token count
};

struct HellaSwagResult {
  int64_t examples = 0;
  int64_t correct = 0, correct_norm = 0;
  double acc = 0, acc_norm = 0;
  std::vector<HellaSwagScores> scores;  // every example's, in file order, on every rank
};

// Called on rank 0 after each of its examples: how many of its own it has scored, of how many.
using HellaSwagProgress = std::function<void(int64_t done, int64_t total)>;

// Scores the first `limit` examples (0: all) with one forward pass of 4 rows per example. Rank r
// scores examples r, r + W, r + 2W, ... and the scores are all-reduced, so every rank returns the
// same result, equal to one process's bit for bit (each example is scored alone, with the same T).
HellaSwagResult evaluate_hellaswag(GPT& model, const std::vector<HellaSwagTokens>& examples,
                                   Comm& comm, int64_t limit = 0,
                                   const HellaSwagProgress& progress = {});

}  // namespace llm
