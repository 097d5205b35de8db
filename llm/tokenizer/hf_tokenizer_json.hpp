#pragma once
// defines: llm::load_hf_tokenizer_json, a Hugging Face `tokenizers` file (tokenizer.json) of a
//          byte-level BPE model (GPT-2's, SmolLM2's, Llama 3's), run by the GPT-2 engine
//          (gpt2_tokenizer.hpp) with the file's scheme (BpeScheme).
//
// What is read:
//   model           type "BPE", its "vocab" (token -> id) and "merges" (in rank order, each
//                   "left right" or ["left", "right"]), "ignore_merges"; dropout, unk_token,
//                   continuing_subword_prefix, end_of_word_suffix and byte_fallback must be unset.
//   added_tokens    matched literally in the text before anything else and decoded to their text
//                   (special ones only while special tokens are allowed); single_word, lstrip and
//                   rstrip must be false. Ids beyond the vocabulary extend it (Llama 3).
//   pre_tokenizer   ByteLevel (add_prefix_space false; use_regex: GPT-2's regex), Split (a
//                   "Regex" pattern, behavior "Isolated", not inverted; compiled with PCRE2),
//                   Digits (individual_digits: each \p{N} alone, else runs of them), and Sequence
//                   of those; there must be a ByteLevel step.
//   post_processor  null, ByteLevel (it only moves offsets), TemplateProcessing whose "single"
//                   template is at most one special token before the text (the BOS, see
//                   Tokenizer::bos_token), or a Sequence of those.
//   normalizer, truncation and padding must be null; decoder null or ByteLevel.
// The document separator (eot_token) is the added token <|endoftext|> (GPT-2, SmolLM2) or
// <|end_of_text|> (Llama 3). A file in GPT-2's own scheme gives the "gpt2" tokenizer, identical
// to the one read from encoder.json + vocab.bpe; any other gives "hf_bpe", which saves the file
// back as it was. Anything else is refused with one line naming the file and the field, never
// read half-way.
#include <filesystem>
#include <memory>

#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path,
                                                  bool allow_special = true);

}  // namespace llm
