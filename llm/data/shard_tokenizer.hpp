#pragma once
// defines: llm::tokenizer_stamp, llm::check_shards_tokenizer, llm::check_same_tokenizer: token
//          shards tied to the tokenizer that made them.
//
// Ids only mean something with their tokenizer: a GPT-2 model fed character-level ids (all below
// 50257, so nothing fails) reports a loss that measures nothing. So glassbox's shards record their
// tokenizer (shard.hpp), and train and eval refuse shards made by another tokenizer than the
// model's or the run's, naming both. llm.c's shards record none; they are read as before, and
// their ids are checked against the model's vocabulary when the model sees them.
#include <filesystem>
#include <string>
#include <vector>

#include "llm/data/shard.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

// What a shard made by `tokenizer` records about it.
TokenizerStamp tokenizer_stamp(const Tokenizer& tokenizer);

// Throws llm::Error when a shard records another tokenizer than `expected`, naming the shard, its
// tokenizer and `expected`, described as `whose` (e.g. "the model's tokenizer (ckpt/...)"). Shards
// without a stamp pass. `expected` may be null when only the vocabulary is known (a checkpoint
// saved without its tokenizer): a stamp is then refused only when its vocabulary is larger than
// `vocab_size`, the model's.
void check_shards_tokenizer(const std::vector<std::filesystem::path>& shards,
                            const Tokenizer* expected, int vocab_size, const std::string& whose);

// Throws llm::Error naming both when two tokenizers differ (e.g. a checkpoint's and a run's data).
void check_same_tokenizer(const Tokenizer& a, const std::string& whose_a, const Tokenizer& b,
                          const std::string& whose_b);

}  // namespace llm
