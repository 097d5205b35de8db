// Fuzz harness for tokenizer files (llm/tokenizer/): an input with a NUL byte is an encoder.json
// (before it) and a vocab.bpe (after it) for the GPT-2 tokenizer; one that mentions "model" is a
// Hugging Face tokenizer.json; any other is a glassbox_tokenizer.json read by load_tokenizer.
// Either is refused with llm::Error, or the tokenizer it gives encodes and decodes text back to the
// same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "llm/core/error.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "llm/tokenizer/hf_tokenizer_json.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "scratch_file.hpp"

namespace {

// Every id a tokenizer gives is in range, and decoding gives the text back.
void check_round_trip(const llm::Tokenizer& tokenizer, const std::string& text) {
  std::vector<int32_t> ids;
  try {
    ids = tokenizer.encode(text);
  } catch (const llm::Error&) {
    return;  // a character outside a char tokenizer's vocabulary
  }
  for (int32_t id : ids)
    if (id < 0 || id >= tokenizer.vocab_size()) __builtin_trap();
  if (tokenizer.decode(ids) != text) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const void* nul = size > 0 ? std::memchr(data, 0, size) : nullptr;
  try {
    std::unique_ptr<llm::Tokenizer> tokenizer;
    if (nul == nullptr && std::string_view(text, size).find("\"model\"") != std::string::npos) {
      tokenizer =
          llm::load_hf_tokenizer_json(fuzz_scratch::write_file("tokenizer.json", data, size));
    } else if (nul == nullptr) {
      fuzz_scratch::write_file(llm::kTokenizerFile, data, size);
      tokenizer = llm::load_tokenizer(fuzz_scratch::directory());
    } else {
      const size_t split = size_t(static_cast<const uint8_t*>(nul) - data);
      tokenizer = std::make_unique<llm::Gpt2Tokenizer>(
          std::string(text, split), std::string(text + split + 1, size - split - 1),
          /*allow_special=*/true);
    }
    check_round_trip(*tokenizer, "the cat, 42 times\n");
    check_round_trip(*tokenizer, std::string(text, std::min<size_t>(size, 64)));
  } catch (const llm::Error&) {
    // refused with a message
  }
  return 0;
}
