// implements: llm::CharTokenizer, llm::utf8_decode, llm::utf8_append
#include "llm/tokenizer/char_tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "llm/core/error.hpp"

namespace llm {

std::vector<char32_t> utf8_decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char b = s[i];
    if (b < 0x80) {  // 0xxxxxxx: ASCII
      out.push_back(b);
      ++i;
      continue;
    }
    // 110xxxxx, 1110xxxx, 11110xxx lead a 2, 3 or 4 byte sequence; anything else cannot start one.
    const int len = (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    char32_t c = len == 2 ? b & 0x1f : len == 3 ? b & 0x0f : b & 0x07;
    bool ok = len != 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xc0) == 0x80;  // continuation bytes are 10xxxxxx
      c = c << 6 | (s[i + k] & 0x3f);
    }
    // Reject overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    static constexpr char32_t kMinOfLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && c >= kMinOfLength[len] && c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff);
    if (!ok) throw Error("text is not valid UTF-8 at byte offset " + std::to_string(i));
    out.push_back(c);
    i += len;
  }
  return out;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | c >> 6);
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | c >> 12);
    out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | c >> 18);
    out += static_cast<char>(0x80 | (c >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

namespace {

// "'a' (U+0061)" for printable characters, "U+000A" for control characters.
std::string describe_char(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return code;
  std::string out = "'";
  utf8_append(out, c);
  return out + "' (" + code + ")";
}

}  // namespace

CharTokenizer::CharTokenizer(std::vector<char32_t> chars) : chars_(std::move(chars)) {
  ascii_ids_.fill(-1);
  for (size_t i = 0; i < chars_.size(); ++i) {
    const char32_t c = chars_[i];
    check(i == 0 || chars_[i - 1] < c,
          "char tokenizer: vocabulary must be sorted and distinct (at " + describe_char(c) + ")");
    check(c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff),
          "char tokenizer: vocabulary holds an invalid code point");
    if (c < 128) ascii_ids_[c] = static_cast<int32_t>(i);
    ids_[c] = static_cast<int32_t>(i);
  }
}

CharTokenizer CharTokenizer::from_corpus(std::string_view text) {
  std::array<bool, 128> ascii{};
  std::set<char32_t> other;
  for (char32_t c : utf8_decode(text)) {
    if (c < 128)
      ascii[c] = true;
    else
      other.insert(c);
  }
  std::vector<char32_t> chars;
  for (char32_t c = 0; c < 128; ++c)
    if (ascii[c]) chars.push_back(c);
  chars.insert(chars.end(), other.begin(), other.end());
  return CharTokenizer(std::move(chars));
}

CharTokenizer CharTokenizer::from_json(const nlohmann::json& spec) {
  check(spec.contains("chars") && spec["chars"].is_array(),
        "char tokenizer: glassbox_tokenizer.json has no \"chars\" array");
  std::vector<char32_t> chars;
  for (const auto& item : spec["chars"]) {
    check(item.is_string(), "char tokenizer: \"chars\" entries must be strings");
    std::vector<char32_t> one = utf8_decode(item.get<std::string>());
    check(one.size() == 1, "char tokenizer: \"chars\" entry '" + item.get<std::string>() +
                               "' is not exactly one character");
    chars.push_back(one[0]);
  }
  return CharTokenizer(std::move(chars));
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char32_t c : utf8_decode(text)) {
    int32_t id = -1;
    if (c < 128) {
      id = ascii_ids_[c];
    } else if (auto it = ids_.find(c); it != ids_.end()) {
      id = it->second;
    }
    if (id < 0)
      throw Error("char tokenizer: character " + describe_char(c) + " is not in the vocabulary");
    ids.push_back(id);
  }
  return ids;
}

std::string CharTokenizer::decode_token(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error("char tokenizer: token id " + std::to_string(id) + " is out of range [0, " +
                std::to_string(vocab_size()) + ")");
  std::string out;
  utf8_append(out, chars_[static_cast<size_t>(id)]);
  return out;
}

std::string CharTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab_size())
      utf8_append(out, chars_[static_cast<size_t>(id)]);
    else
      decode_token(id);  // throws the out-of-range error
  }
  return out;
}

void CharTokenizer::save(const std::filesystem::path& dir) const {
  nlohmann::json chars = nlohmann::json::array();
  for (size_t i = 0; i < chars_.size(); ++i) chars.push_back(decode_token(static_cast<int32_t>(i)));
  const nlohmann::json spec = {{"type", "char"}, {"chars", chars}};
  std::filesystem::create_directories(dir);
  const auto path = dir / kTokenizerFile;
  std::ofstream out(path);
  out << spec.dump(1) << "\n";
  check(bool(out), "char tokenizer: cannot write " + path.string());
}

}  // namespace llm
