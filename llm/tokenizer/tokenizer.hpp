#pragma once
// defines: llm::Tokenizer, the interface every tokenizer implements, and load_tokenizer().
//
// Tokenizers: "char" (vocabulary = the characters of the training corpus), "byte" (256 byte
// values), "gpt2" (GPT-2 byte-level BPE from encoder.json + vocab.bpe). A tokenizer saves itself
// into a directory (a checkpoint or a shard directory) and load_tokenizer() brings it back from
// there, so a checkpoint always carries the tokenizer it was trained with. The file is
// glassbox_tokenizer.json, not tokenizer.json: that name belongs to Hugging Face's tokenizers
// format, which transformers' AutoTokenizer would try (and fail) to read from an exported
// checkpoint.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string name() const = 0;  // "char", "byte", "gpt2", "hf_bpe"
  virtual int vocab_size() const = 0;    // V, every id is in [0, V)
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Decoding never fails: an id out of range throws llm::Error, bytes that are not valid UTF-8
  // are passed through as they are (printing them is the terminal's business).
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The text of one token, for streaming output and for labels in the visualizer.
  virtual std::string decode_token(int32_t id) const = 0;
  // The document separator (GPT-2's <|endoftext|>), if this tokenizer has one.
  virtual std::optional<int32_t> eot_token() const { return std::nullopt; }
  // The token a model expects first, before any text (Llama 3's <|begin_of_text|>), if the
  // tokenizer asks for one. encode() never adds it: callers that start a sequence do (`glassbox
  // sample` puts it before the prompt; token files for `train`/`eval` carry what prepare wrote).
  virtual std::optional<int32_t> bos_token() const { return std::nullopt; }
  // Writes glassbox_tokenizer.json (and any vocabulary files) into dir.
  virtual void save(const std::filesystem::path& dir) const = 0;
  // Identifies what this tokenizer does (llm/tokenizer/fingerprint.hpp): the name and every
  // token's bytes in id order; a BPE tokenizer adds its merges.
  virtual uint64_t fingerprint() const;
};

// The file Tokenizer::save writes into a directory.
inline constexpr const char* kTokenizerFile = "glassbox_tokenizer.json";

// Reads dir/glassbox_tokenizer.json (written by Tokenizer::save) and the files it names. Without
// it: a Hugging Face GPT-2 directory (vocab.json + merges.txt, the same contents as encoder.json +
// vocab.bpe) gives the GPT-2 tokenizer; a tokenizer.json with a glassbox "type" key (what glassbox
// wrote before the rename) is still read; any other tokenizer.json is Hugging Face's format, read
// when it is a byte-level BPE (hf_tokenizer_json.hpp).
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);
// The same, or null when dir holds no tokenizer (a checkpoint saved without one).
std::unique_ptr<Tokenizer> load_tokenizer_if_saved(const std::filesystem::path& dir);

}  // namespace llm
