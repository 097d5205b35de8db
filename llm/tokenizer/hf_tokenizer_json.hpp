#pragma once
// defines: llm::load_hf_tokenizer_json, a Hugging Face `tokenizers` file (tokenizer.json) of a
//          byte-level BPE model, run by the GPT-2 engine (gpt2_tokenizer.hpp).
//
// What is read: model.type "BPE" with its "vocab" (token -> id) and "merges" (in rank order, each
// "left right" or ["left", "right"]); the pre-tokenizer must be ByteLevel without
// add_prefix_space, using GPT-2's regex (use_regex true or absent), and there must be no
// normalizer, dropout, unk_token or subword prefix/suffix; "added_tokens" may add
// <|endoftext|>, the one special token the engine knows. That is GPT-2's own tokenizer.json and
// those of models that reuse its vocabulary or its scheme; anything else is refused with one line
// naming the file and the field, never read half-way.
#include <filesystem>
#include <memory>

#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path,
                                                  bool allow_special = true);

}  // namespace llm
