#pragma once
// defines: llm::Gpt2Tokenizer (GPT-2 byte-level BPE, ids identical to OpenAI's encoder.py),
//          make_gpt2_tokenizer(), load_gpt2_tokenizer(), Gpt2Splitter (the pre-tokenizer regex),
//          gpt2_byte_to_unicode() / gpt2_bytes_to_unicode_string() (the bytes_to_unicode table).
//
// How GPT-2 turns text into ids (see llm/tokenizer/README.md for the long version):
//   1. split on "<|endoftext|>" when special tokens are allowed (it becomes id 50256);
//   2. pre-tokenize each part with the regex below into "words" (" the", "'s", "\n\n", ...);
//   3. each word is a sequence of bytes; repeatedly merge the adjacent pair of tokens with the
//   lowest
//      rank in vocab.bpe (merging every occurrence of that pair, left to right) until no pair has a
//      rank;
//   4. the resulting tokens are looked up in encoder.json.
// encoder.json and vocab.bpe spell bytes with printable stand-ins (bytes_to_unicode: byte 0x20 is
// "Ġ", 0x0A is "Ċ"); internally everything here works on raw bytes and integer ids.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "llm/tokenizer/regex_split.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

// GPT-2's document separator, id 50256 in its vocabulary (the BPE trainer gives it the last id).
inline constexpr std::string_view kEndOfText = "<|endoftext|>";

// bytes_to_unicode() from OpenAI's encoder.py: byte value -> the code point that stands for it in
// encoder.json / vocab.bpe. Printable Latin-1 bytes stand for themselves; the other 68 bytes map to
// U+0100.. in byte order.
const std::array<char32_t, 256>& gpt2_byte_to_unicode();
// Raw bytes -> their UTF-8 spelling in encoder.json / vocab.bpe ("\n hi" -> "ĊĠhi").
std::string gpt2_bytes_to_unicode_string(std::string_view bytes);

// GPT-2's pre-tokenizer. OpenAI's pattern is
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// compiled here with PCRE2 (UTF + UCP, JIT). \s is spelled out as Unicode White_Space, which is
// what Python's `regex` module (OpenAI's encoder.py) uses, so the result does not depend on an
// engine's own idea of \s (JavaScript's, in the npm gpt-3-encoder, adds U+FEFF and lacks U+0085).
// Bytes that are not valid UTF-8 are never matched by the regex; next() returns each run of them
// as a piece of its own so that no byte is lost.
class Gpt2Splitter {
 public:
  Gpt2Splitter();
  ~Gpt2Splitter();
  Gpt2Splitter(const Gpt2Splitter&) = delete;
  Gpt2Splitter& operator=(const Gpt2Splitter&) = delete;
  // The next piece of `text` at or after `pos` (pos advances past it); empty at the end.
  // An ASCII fast path decides most pieces without the regex (see ascii_piece in the .cpp).
  std::string_view next(std::string_view text, size_t& pos);
  // The same, always through PCRE2 (the fast path is tested against it).
  std::string_view next_regex(std::string_view text, size_t& pos);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a Hugging Face tokenizer.json may change in GPT-2's scheme (hf_tokenizer_json.hpp reads
// it from the file). The default is GPT-2's own scheme.
struct BpeScheme {
  // A token matched literally in the text before pre-tokenization (Hugging Face's added tokens:
  // <|endoftext|>, <|im_start|>, <|begin_of_text|>, ...), decoded to its text. Special ones are
  // only matched when special tokens are allowed; the others always are. An id beyond
  // encoder.json extends the vocabulary; an id inside it must be this token's there.
  struct AddedToken {
    std::string text;
    int32_t id = 0;
    bool special = true;
  };
  // Empty: GPT-2's <|endoftext|> (a special token, when encoder.json has it).
  std::vector<AddedToken> added_tokens;
  // The pre-tokenizer: each step cuts every piece of the step before into smaller ones (the
  // Isolated behaviour: matches and the runs between them). A null step is GPT-2's regex (the
  // Gpt2Splitter with its ASCII fast path); the others are patterns of the tokenizer.json.
  std::vector<std::shared_ptr<const SplitRegex>> split_steps = {nullptr};
  // A word that is a token of the vocabulary as a whole is that token, without the merges
  // (Hugging Face's BPE "ignore_merges", which Llama 3 sets: its vocabulary comes from tiktoken).
  bool ignore_merges = false;
  std::optional<int32_t> bos;  // the token the post-processor puts first (Tokenizer::bos_token)
  std::optional<int32_t> eot;  // the document separator; unset: <|endoftext|> when present
  std::string name = "gpt2";   // Tokenizer::name()
  // The tokenizer.json text this scheme was read from, written back by save(); empty for GPT-2's
  // scheme, which save() writes as encoder.json + vocab.bpe.
  std::string tokenizer_json;
};

class Gpt2Tokenizer : public Tokenizer {
 public:
  // encoder_json / vocab_bpe: the files' contents; the names are only used in error messages and
  // by save(). Throws llm::Error (one line, naming the file) on malformed contents.
  Gpt2Tokenizer(std::string encoder_json, std::string vocab_bpe, bool allow_special,
                std::string encoder_name = "encoder.json", std::string vocab_name = "vocab.bpe",
                BpeScheme scheme = {});
  ~Gpt2Tokenizer() override;

  std::string name() const override { return scheme_.name; }
  int vocab_size() const override { return static_cast<int>(tokens_.size()); }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string decode_token(int32_t id) const override;
  std::optional<int32_t> eot_token() const override;
  std::optional<int32_t> bos_token() const override { return scheme_.bos; }
  // The tokens in id order and the merges (left id, right id) in rank order.
  uint64_t fingerprint() const override { return fingerprint_; }
  // Writes dir/encoder.json, dir/vocab.bpe (the contents this tokenizer was built from) and
  // dir/glassbox_tokenizer.json
  // {"type":"gpt2","encoder":"encoder.json","vocab_bpe":"vocab.bpe","allow_special":..}; one read
  // from a tokenizer.json of another scheme writes that file back unchanged and
  // {"type":"hf_bpe","tokenizer_json":"tokenizer.json","allow_special":..}.
  void save(const std::filesystem::path& dir) const override;

  // Encodes each document on its own (threads <= 0: all hardware threads). out[i] ==
  // encode(docs[i]).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string_view>& docs,
                                                 int threads) const;
  // Appends the ids of `text` to `out` (encode() without the allocation of a fresh vector).
  void encode_append(std::string_view text, std::vector<int32_t>& out) const;

  bool allow_special() const { return allow_special_; }
  int num_merges() const { return num_merges_; }

 private:
  struct MergeTable;  // (left id, right id) -> (rank, merged id), open addressing
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;
  // Cuts `text` with split step `step` and the ones after it, then encodes each word.
  void pre_tokenize(size_t step, std::string_view text, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view word, std::vector<int32_t>& out) const;

  std::string encoder_json_, vocab_bpe_;   // file contents, written back by save()
  std::string encoder_name_, vocab_name_;  // for error messages
  bool allow_special_;
  std::vector<std::string> tokens_;     // id -> raw bytes
  std::array<int32_t, 256> byte_id_{};  // byte -> id of the one-byte token
  std::unique_ptr<MergeTable> merges_;
  int num_merges_ = 0;
  int32_t eot_id_ = -1;  // the document separator (<|endoftext|>), -1 when there is none
  BpeScheme scheme_;
  // The added tokens matched in the text (all, or the non-special ones without allow_special),
  // longest first, and which bytes start one.
  std::vector<BpeScheme::AddedToken> matched_;
  std::array<bool, 256> starts_added_{};
  std::unordered_map<std::string, int32_t> word_id_;  // bytes -> id, only with ignore_merges
  uint64_t instance_id_;                              // keys the per-thread word cache
  uint64_t fingerprint_ = 0;
};

// Cuts text into pieces of about chunk_bytes whose encodings, concatenated, equal the encoding of
// the whole text, so one long text can go through encode_batch on all cores. A cut goes before a
// space whose previous byte is printable ASCII: the regex always ends a word there (a space can
// only start a word) and matching restarts from scratch, since the pattern has no look-behind.
std::vector<std::string_view> gpt2_split_text(std::string_view text, size_t chunk_bytes);

// Reads encoder.json and vocab.bpe (OpenAI's files, or ones written by train_bpe).
std::unique_ptr<Tokenizer> make_gpt2_tokenizer(const std::filesystem::path& encoder_json,
                                               const std::filesystem::path& vocab_bpe,
                                               bool allow_special = true);
// For load_tokenizer(): spec is dir/glassbox_tokenizer.json
// {"type":"gpt2","encoder":..,"vocab_bpe":.., "allow_special":..}; file names are relative to dir.
std::unique_ptr<Tokenizer> load_gpt2_tokenizer(const nlohmann::json& spec,
                                               const std::filesystem::path& dir);

}  // namespace llm
