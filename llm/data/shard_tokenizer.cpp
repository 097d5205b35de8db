#include "llm/data/shard_tokenizer.hpp"

#include "llm/core/error.hpp"

namespace llm {

TokenizerStamp tokenizer_stamp(const Tokenizer& tokenizer) {
  return {tokenizer.name(), tokenizer.vocab_size(), tokenizer.fingerprint()};
}

void check_shards_tokenizer(const std::vector<std::filesystem::path>& shards,
                            const Tokenizer* expected, int vocab_size, const std::string& whose) {
  for (const std::filesystem::path& shard : shards) {
    const TokenizerStamp made_by = read_shard_header(shard).tokenizer;
    if (!made_by.recorded()) continue;
    if (expected != nullptr) {
      const TokenizerStamp want = tokenizer_stamp(*expected);
      check(made_by.fingerprint == want.fingerprint && made_by.vocab_size == want.vocab_size,
            "token shard " + shard.string() + " was made by the tokenizer " + made_by.describe() +
                ", but " + whose + " is " + want.describe() +
                ": these ids mean other tokens (prepare the data with that tokenizer)");
    } else {
      check(made_by.vocab_size <= vocab_size,
            "token shard " + shard.string() + " was made by the tokenizer " + made_by.describe() +
                ", whose vocabulary is larger than the " + std::to_string(vocab_size) +
                " tokens of " + whose);
    }
  }
}

void check_same_tokenizer(const Tokenizer& a, const std::string& whose_a, const Tokenizer& b,
                          const std::string& whose_b) {
  const TokenizerStamp sa = tokenizer_stamp(a), sb = tokenizer_stamp(b);
  check(sa.fingerprint == sb.fingerprint && sa.vocab_size == sb.vocab_size,
        whose_a + " is " + sa.describe() + ", but " + whose_b + " is " + sb.describe() +
            ": the ids of one mean other tokens in the other");
}

}  // namespace llm
