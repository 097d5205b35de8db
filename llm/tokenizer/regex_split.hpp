#pragma once
// defines: llm::SplitRegex, a pre-tokenizer pattern of a Hugging Face tokenizer.json (a "Split"
//          step, or the \p{N} of a "Digits" step) compiled with PCRE2, and split_isolated(), which
//          cuts a text into the pattern's matches and the runs between them.
//
// Hugging Face's `tokenizers` compiles these patterns with Oniguruma, whose \s is Unicode
// White_Space (tab..CR, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000). PCRE2's \s (10.42, with UCP) also matches U+180E, a space separator in old
// Unicode versions, so the constructor spells \s and \S out as that class before compiling, as
// GPT-2's own pattern is spelled (gpt2_tokenizer.cpp).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llm {

// The White_Space class body ("\t\n\x{0B}..."), to be put inside [...] or [^...].
const char* unicode_white_space_class();

// `pattern` with every \s and \S outside a character class, and every \s inside one, written as
// the explicit White_Space class. A \S inside a class has no such spelling: an llm::Error naming
// `where`.
std::string spell_out_white_space(std::string_view pattern, const std::string& where);

class SplitRegex {
 public:
  // Compiles spell_out_white_space(pattern) (UTF, UCP, JIT); a bad pattern is an llm::Error that
  // names `where` (e.g. "tokenizer.json: pre_tokenizer.pretokenizers[0].pattern.Regex").
  SplitRegex(std::string_view pattern, const std::string& where);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  // Appends the pieces of `text` to `out` in order: each non-empty match, and each run of text
  // between matches (Hugging Face's "Isolated" behaviour: nothing is dropped, so the pieces
  // concatenate to `text`). Bytes that are not UTF-8 never match and land in the runs between.
  // Thread-safe: the match buffers are per thread.
  void split_isolated(std::string_view text, std::vector<std::string_view>& out) const;

  const std::string& pattern() const { return pattern_; }  // as given, before the rewrite

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_, where_;
};

}  // namespace llm
