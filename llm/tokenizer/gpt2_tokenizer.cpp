// GPT-2 byte-level BPE: pre-tokenizer (PCRE2 JIT), merge loop, word cache, file loading.
//
// [SECTION] bytes_to_unicode
// [SECTION] pre-tokenizer (Gpt2Splitter)
// [SECTION] hash tables (merge table, word cache)
// [SECTION] loading encoder.json / vocab.bpe
// [SECTION] encode / decode
// [SECTION] save / load
#define PCRE2_CODE_UNIT_WIDTH 8
#include "llm/tokenizer/gpt2_tokenizer.hpp"

#include <pcre2.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/fingerprint.hpp"

namespace llm {

namespace {

// Appends the UTF-8 encoding of code point cp (< 0x110000).
void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one UTF-8 code point at s[i] (advancing i); returns -1 on a malformed sequence.
int32_t next_utf8(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return -1;
  int32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  i += len;
  return cp;
}

std::string read_file(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open " + what);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path.string() + ": cannot open for writing");
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw Error(path.string() + ": write failed");
}

// A short printable form of a token for error messages.
std::string show_token(std::string_view s) {
  std::string q = "'";
  q += s.substr(0, 40);
  if (s.size() > 40) q += "...";
  return q + "'";
}

// 64-bit hash of a short byte string: 8 bytes at a time, multiply-xorshift mixing.
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
  }
  h ^= h >> 32;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  return h | 1;  // 0 marks an empty slot
}

}  // namespace

// [SECTION] bytes_to_unicode
// ------------------------------------------------------------------------

const std::array<char32_t, 256>& gpt2_byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    // Printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves ...
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      // ... the rest (control bytes, space, 0x7F-0xA0, 0xAD) get U+0100, U+0101, ... in byte order.
      t[b] = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
    }
    return t;
  }();
  return table;
}

std::string gpt2_bytes_to_unicode_string(std::string_view bytes) {
  const auto& table = gpt2_byte_to_unicode();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) append_utf8(out, table[c]);
  return out;
}

// [SECTION] pre-tokenizer (Gpt2Splitter)
// ------------------------------------------------------------

namespace {

// Unicode White_Space (what \s means in Python's `regex` and in tiktoken), as a class body.
#define GB_WS                                                                                  \
  "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{" \
  "202F}\\x{205F}\\x{3000}"
constexpr const char* kPattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" GB_WS
                                 "\\p{L}\\p{N}]+"
                                 "|[" GB_WS "]+(?![^" GB_WS "])|[" GB_WS "]+";
#undef GB_WS

// The compiled pattern, shared by all threads (pcre2_code is read-only once JIT-compiled).
pcre2_code* gpt2_regex() {
  static pcre2_code* code = [] {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* c =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (c == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(error, msg, sizeof msg);
      throw Error(std::string("GPT-2 pre-tokenizer regex: ") + reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is missing
    return c;
  }();
  return code;
}

}  // namespace

struct Gpt2Splitter::Impl {
  pcre2_code* code = gpt2_regex();
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  // `\s+(?!\S)` backtracks over long whitespace runs: give the JIT more than its 32 KiB default.
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  Impl() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~Impl() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(match);
  }
};

Gpt2Splitter::Gpt2Splitter() : impl_(std::make_unique<Impl>()) {}
Gpt2Splitter::~Gpt2Splitter() = default;

// ASCII fast path: the same match as the regex, decided from ASCII bytes alone; 0 when a byte
// >= 0x80 would have to be classified (it may be a letter, a digit or white space), and the regex
// takes over from the same position. The cases follow the pattern's alternatives in order.
namespace {

enum : uint8_t { kOther = 0, kLetter = 1, kDigit = 2, kSpace = 3, kHigh = 4 };
constexpr std::array<uint8_t, 256> kAsciiClass = [] {
  std::array<uint8_t, 256> c{};
  for (int b = 0; b < 256; ++b) {
    if (b >= 0x80)
      c[b] = kHigh;
    else if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'))
      c[b] = kLetter;
    else if (b >= '0' && b <= '9')
      c[b] = kDigit;
    else if (b == ' ' || (b >= '\t' && b <= '\r'))
      c[b] = kSpace;  // \t \n \v \f \r and space
    else
      c[b] = kOther;  // punctuation, other control bytes, DEL
  }
  return c;
}();

// Length of the piece at text[pos], or 0 when the ASCII rules cannot decide it.
size_t ascii_piece(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  auto cls = [&](size_t i) { return i < n ? kAsciiClass[s[i]] : uint8_t{255}; };  // 255: end
  // A run of class k from i: the end, or npos if it stops at a byte >= 0x80.
  auto run = [&](size_t i, uint8_t k) -> size_t {
    while (i < n && kAsciiClass[s[i]] == k) ++i;
    return cls(i) == kHigh ? std::string_view::npos : i;
  };
  uint8_t c = cls(pos);
  if (c == kHigh) return 0;
  if (s[pos] == '\'' && pos + 1 < n) {  // 's|'t|'re|'ve|'m|'ll|'d
    unsigned char a = s[pos + 1], b = pos + 2 < n ? s[pos + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  size_t start = pos;
  if (s[pos] == ' ') {  // " ?X+": an optional space before a letter, digit or other run
    uint8_t k = cls(pos + 1);
    if (k == kHigh) return 0;
    if (k == kLetter || k == kDigit || k == kOther) {
      size_t e = run(pos + 1, k);
      return e == std::string_view::npos ? 0 : e - start;
    }
    c = kSpace;  // followed by white space or the end: the white-space rules below
  }
  if (c != kSpace) {  // \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
    size_t e = run(pos, c);
    return e == std::string_view::npos ? 0 : e - start;
  }
  // \s+(?!\S) | \s+ : the longest white-space run, less its last character when a non-space
  // follows (that character then starts the next " ?X+" piece), unless the run is one character.
  size_t e = run(pos, kSpace);
  if (e == std::string_view::npos) return 0;
  if (e == n || e - start == 1) return e - start;
  return e - 1 - start;
}

}  // namespace

std::string_view Gpt2Splitter::next(std::string_view text, size_t& pos) {
  if (pos >= text.size()) return {};
  if (size_t len = ascii_piece(text, pos)) {
    std::string_view piece = text.substr(pos, len);
    pos += len;
    return piece;
  }
  return next_regex(text, pos);
}

std::string_view Gpt2Splitter::next_regex(std::string_view text, size_t& pos) {
  if (pos >= text.size()) return {};
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, 0,
                       impl_->match, impl_->context);
  size_t start = text.size(), end = text.size();
  if (rc >= 0) {
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(impl_->match);
    start = ov[0];
    end = ov[1];
  } else if (rc != PCRE2_ERROR_NOMATCH) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    throw Error(std::string("GPT-2 pre-tokenizer: ") + reinterpret_cast<char*>(msg));
  }
  if (start > pos) {  // bytes the regex cannot match (invalid UTF-8): one piece of their own
    std::string_view gap = text.substr(pos, start - pos);
    pos = start;
    return gap;
  }
  pos = end;
  return text.substr(start, end - start);
}

// [SECTION] hash tables (merge table, word cache)
// ---------------------------------------------------

// (left id, right id) -> (rank, merged id). Open addressing with linear probing on a power-of-two
// table kept at most half full, so a lookup is usually one cache line.
struct Gpt2Tokenizer::MergeTable {
  struct Slot {
    uint64_t key;  // (left << 32) | right, ~0 when empty
    int32_t rank;
    int32_t merged;
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;
  int shift = 64;

  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void reserve(size_t n) {
    size_t cap = 16;
    int bits = 4;
    while (cap < 2 * n) cap <<= 1, ++bits;
    slots.assign(cap, Slot{~0ull, INT_MAX, -1});
    mask = cap - 1;
    shift = 64 - bits;
  }
  size_t home(uint64_t k) const { return (k * 0x9E3779B97F4A7C15ull) >> shift; }
  // Later lines win, as in encoder.py's dict(zip(merges, range(n))).
  void insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
    uint64_t k = key(a, b);
    for (size_t i = home(k);; i = (i + 1) & mask) {
      if (slots[i].key == ~0ull || slots[i].key == k) {
        slots[i] = Slot{k, rank, merged};
        return;
      }
    }
  }
  const Slot* find(int32_t a, int32_t b) const {
    uint64_t k = key(a, b);
    for (size_t i = home(k);; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == ~0ull) return nullptr;
    }
  }
};

namespace {

// Word -> ids, so that each distinct word runs the merge loop once. Keys and ids live in two flat
// arrays; a slot holds the hash and offsets. Cleared when it grows past a size bound.
class WordCache {
 public:
  const int32_t* find(std::string_view word, uint64_t h, uint32_t& count) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == h && s.key_len == word.size() &&
          std::memcmp(keys_.data() + s.key_off, word.data(), word.size()) == 0) {
        count = s.ids_len;
        return ids_.data() + s.ids_off;
      }
    }
  }
  void insert(std::string_view word, uint64_t h, const int32_t* ids, uint32_t count) {
    if (keys_.size() + word.size() > kMaxKeyBytes) clear();
    if (2 * (used_ + 1) > slots_.size()) grow();
    Slot s{h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(word.size()),
           static_cast<uint32_t>(ids_.size()), count};
    keys_.append(word);
    ids_.insert(ids_.end(), ids, ids + count);
    place(s);
    ++used_;
  }
  void clear() {
    slots_.clear();
    keys_.clear();
    ids_.clear();
    used_ = 0;
    mask_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash;  // 0 = empty
    uint32_t key_off, key_len, ids_off, ids_len;
  };
  static constexpr size_t kMaxKeyBytes = size_t{64} << 20;
  void place(const Slot& s) {
    for (size_t i = s.hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].hash == 0) {
        slots_[i] = s;
        return;
      }
    }
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    size_t cap = old.empty() ? 4096 : old.size() * 2;
    slots_.assign(cap, Slot{0, 0, 0, 0, 0});
    mask_ = cap - 1;
    for (const Slot& s : old)
      if (s.hash != 0) place(s);
  }
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t used_ = 0;
  size_t mask_ = 0;
};

// Per-thread working state: the regex match buffers, the word cache (valid for one tokenizer
// instance at a time) and scratch arrays for the merge loop. encode() is const and thread-safe.
struct ThreadState {
  uint64_t owner = 0;
  WordCache cache;
  std::unique_ptr<Gpt2Splitter> splitter;
  std::vector<int32_t> ids, ranks, merged;
};

ThreadState& thread_state(uint64_t owner) {
  thread_local ThreadState state;
  if (state.owner != owner) {
    state.cache.clear();
    state.owner = owner;
  }
  if (!state.splitter) state.splitter = std::make_unique<Gpt2Splitter>();
  return state;
}

std::atomic<uint64_t> next_instance_id{1};

}  // namespace

// [SECTION] loading encoder.json / vocab.bpe
// --------------------------------------------------------

Gpt2Tokenizer::Gpt2Tokenizer(std::string encoder_json, std::string vocab_bpe, bool allow_special,
                             std::string encoder_name, std::string vocab_name, BpeScheme scheme)
    : encoder_json_(std::move(encoder_json)),
      vocab_bpe_(std::move(vocab_bpe)),
      encoder_name_(std::move(encoder_name)),
      vocab_name_(std::move(vocab_name)),
      allow_special_(allow_special),
      merges_(std::make_unique<MergeTable>()),
      scheme_(std::move(scheme)),
      instance_id_(next_instance_id.fetch_add(1)) {
  // Inverse of bytes_to_unicode: code point -> byte (all stand-ins are below U+0144).
  std::array<int, 0x144> unicode_to_byte;
  unicode_to_byte.fill(-1);
  const auto& b2u = gpt2_byte_to_unicode();
  for (int b = 0; b < 256; ++b) unicode_to_byte[b2u[b]] = b;
  auto to_bytes = [&](std::string_view s, std::string& out) {
    out.clear();
    for (size_t i = 0; i < s.size();) {
      int32_t cp = next_utf8(s, i);
      if (cp < 0 || cp >= 0x144 || unicode_to_byte[cp] < 0) return false;
      out += static_cast<char>(unicode_to_byte[cp]);
    }
    return true;
  };

  // encoder.json: {"token": id, ...}, ids 0..V-1 each used once.
  const std::string& ename = encoder_name_;
  nlohmann::json enc;
  try {
    enc = nlohmann::json::parse(encoder_json_);  // parse_error, or out_of_range for 1e999
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw Error(ename + ": invalid JSON (" + what + ")");
  }
  if (!enc.is_object() || enc.empty())
    throw Error(ename + ": expected a JSON object mapping tokens to ids");
  // Added tokens may take ids beyond encoder.json's (Llama 3's 256 special tokens follow its
  // 128,000); together they must use each id of 0..V-1 once.
  size_t vocab = enc.size();
  const size_t most = enc.size() + scheme_.added_tokens.size();  // V when every id is distinct
  for (const BpeScheme::AddedToken& added : scheme_.added_tokens) {
    if (added.id < 0 || size_t(added.id) >= most)
      throw Error(ename + ": added token " + show_token(added.text) + " has id " +
                  std::to_string(added.id) + ", outside 0.." + std::to_string(most - 1));
    vocab = std::max(vocab, size_t(added.id) + 1);
  }
  tokens_.assign(vocab, std::string());
  std::vector<bool> seen(vocab, false);
  std::vector<bool> is_added(vocab, false);  // added tokens are made by no merge
  for (const BpeScheme::AddedToken& added : scheme_.added_tokens) is_added[size_t(added.id)] = true;
  std::unordered_map<std::string, int32_t> id_of;  // raw bytes -> id, only needed while loading
  id_of.reserve(vocab * 2);
  std::string bytes;
  for (auto it = enc.begin(); it != enc.end(); ++it) {
    if (!it.value().is_number_integer())
      throw Error(ename + ": id of token " + show_token(it.key()) + " is not an integer");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(vocab))
      throw Error(ename + ": id " + std::to_string(id) + " of token " + show_token(it.key()) +
                  " is outside 0.." + std::to_string(vocab - 1) + " (ids must be 0..V-1)");
    if (seen[id]) throw Error(ename + ": id " + std::to_string(id) + " is used twice");
    seen[id] = true;
    if (it.key() == kEndOfText && scheme_.added_tokens.empty()) {
      eot_id_ = static_cast<int32_t>(id);  // GPT-2's one special token
      is_added[id] = true;
    }
    if (!to_bytes(it.key(), bytes))
      throw Error(ename + ": token " + show_token(it.key()) +
                  " has a character outside GPT-2's byte alphabet (bytes_to_unicode)");
    tokens_[id] = bytes;
    if (!is_added[id]) id_of.emplace(bytes, static_cast<int32_t>(id));
  }
  for (const BpeScheme::AddedToken& added : scheme_.added_tokens) {
    const size_t id = size_t(added.id);
    if (seen[id] && tokens_[id] != added.text)
      throw Error(ename + ": added token " + show_token(added.text) + " has id " +
                  std::to_string(id) + ", which is " + show_token(tokens_[id]) + " there");
    seen[id] = true;
    tokens_[id] = added.text;  // decoded as its text, not through bytes_to_unicode
  }
  for (size_t id = 0; id < vocab; ++id)
    if (!seen[id])
      throw Error(ename + ": no token has id " + std::to_string(id) + " (ids must be 0.." +
                  std::to_string(vocab - 1) + ")");
  if (scheme_.eot) eot_id_ = *scheme_.eot;
  if (scheme_.added_tokens.empty() && eot_id_ >= 0)
    scheme_.added_tokens.push_back({std::string(kEndOfText), eot_id_, /*special=*/true});
  for (const BpeScheme::AddedToken& added : scheme_.added_tokens) {
    if (added.text.empty() || (added.special && !allow_special_)) continue;
    matched_.push_back(added);
    starts_added_[static_cast<unsigned char>(added.text[0])] = true;
  }
  std::stable_sort(matched_.begin(), matched_.end(),
                   [](const auto& a, const auto& b) { return a.text.size() > b.text.size(); });
  for (int b = 0; b < 256; ++b) {
    auto it = id_of.find(std::string(1, static_cast<char>(b)));
    if (it == id_of.end()) {
      std::string u;
      append_utf8(u, b2u[b]);
      throw Error(ename + ": the one-byte token " + show_token(u) + " (byte " + std::to_string(b) +
                  ") is missing");
    }
    byte_id_[b] = it->second;
  }

  // vocab.bpe: "#version: 0.2", then one merge "left right" per line in rank order.
  const std::string& vname = vocab_name_;
  std::string_view data = vocab_bpe_;
  size_t line_no = 0, pos = 0;
  std::vector<std::array<int32_t, 3>> merges;  // left, right, merged
  std::string left_bytes, right_bytes;
  while (pos < data.size()) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) eol = data.size();
    std::string_view line = data.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string where = vname + " line " + std::to_string(line_no) + ": ";
    if (line_no == 1) {
      if (line.substr(0, 8) != "#version")
        throw Error(where + "expected the header '#version: 0.2'");
      continue;
    }
    if (line.empty()) continue;
    // Split on single spaces; tokens never contain a space (byte 0x20 is spelled 'Ġ').
    std::vector<std::string_view> parts;
    size_t s = 0;
    while (s <= line.size()) {
      size_t e = line.find(' ', s);
      if (e == std::string_view::npos) e = line.size();
      if (e > s) parts.push_back(line.substr(s, e - s));
      s = e + 1;
    }
    if (parts.size() != 2)
      throw Error(where + "expected two tokens, found " + std::to_string(parts.size()));
    if (!to_bytes(parts[0], left_bytes) || !to_bytes(parts[1], right_bytes))
      throw Error(where + "a character outside GPT-2's byte alphabet (bytes_to_unicode)");
    auto l = id_of.find(left_bytes), r = id_of.find(right_bytes);
    auto m = id_of.find(left_bytes + right_bytes);
    if (l == id_of.end())
      throw Error(where + "token " + show_token(parts[0]) + " is not in " + ename);
    if (r == id_of.end())
      throw Error(where + "token " + show_token(parts[1]) + " is not in " + ename);
    if (m == id_of.end())
      throw Error(where + "merged token " +
                  show_token(std::string(parts[0]) + std::string(parts[1])) + " is not in " +
                  ename);
    merges.push_back({l->second, r->second, m->second});
  }
  if (line_no == 0) throw Error(vname + ": file is empty");
  // The two files belong together only if every token of encoder.json beyond the 256 bytes and
  // the added tokens is made by a merge: a vocab.bpe cut short (even at a line boundary) or from
  // another vocabulary leaves tokens that encoding can never produce. (With ignore_merges a word
  // can also be a token as a whole, so nothing is unreachable.)
  std::vector<bool> made(vocab, false);
  for (const auto& merge : merges) made[size_t(merge[2])] = true;
  size_t unreachable = 0, first = vocab;
  for (size_t id = 0; id < vocab && !scheme_.ignore_merges; ++id) {
    if (made[id] || tokens_[id].size() == 1 || is_added[id]) continue;
    if (unreachable++ == 0) first = id;
  }
  if (unreachable > 0)
    throw Error(vname + " does not match " + ename + ": " + std::to_string(unreachable) +
                " of its " + std::to_string(vocab) + " tokens (the first: id " +
                std::to_string(first) + ") are made by no merge (" + std::to_string(merges.size()) +
                " merges read)");
  merges_->reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i)
    merges_->insert(merges[i][0], merges[i][1], static_cast<int32_t>(i), merges[i][2]);
  num_merges_ = static_cast<int>(merges.size());
  if (scheme_.ignore_merges) word_id_ = std::move(id_of);

  Fingerprint f;
  f.add_string(name());
  f.add_number(tokens_.size());
  for (const std::string& token : tokens_) f.add_string(token);
  f.add_number(merges.size());
  for (const auto& merge : merges) {
    f.add_number(uint64_t(merge[0]));
    f.add_number(uint64_t(merge[1]));
  }
  if (!scheme_.tokenizer_json.empty()) {  // another scheme than GPT-2's: what it changes
    for (const BpeScheme::AddedToken& added : scheme_.added_tokens) {
      f.add_number(uint64_t(added.id));
      f.add_number(added.special ? 1 : 0);
    }
    for (const auto& step : scheme_.split_steps) f.add_string(step ? step->pattern() : "gpt2");
    f.add_number(scheme_.ignore_merges ? 1 : 0);
    f.add_number(scheme_.bos ? uint64_t(*scheme_.bos) : ~uint64_t{0});
  }
  fingerprint_ = f.value();
}

Gpt2Tokenizer::~Gpt2Tokenizer() = default;

std::optional<int32_t> Gpt2Tokenizer::eot_token() const {
  if (eot_id_ < 0) return std::nullopt;
  return eot_id_;
}

// [SECTION] encode / decode
// -------------------------------------------------------------------------

// The merge loop for one word (uncached). ids[i] are the current tokens, ranks[i]/merged[i]
// describe the pair (ids[i], ids[i+1]). Each round finds the lowest rank, then merges every
// occurrence of that pair left to right (exactly encoder.py's bpe()), and refreshes the ranks from
// the first merge on.
void Gpt2Tokenizer::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  ThreadState& st = thread_state(instance_id_);
  uint64_t h = hash_bytes(word.data(), word.size());
  uint32_t cached = 0;
  if (const int32_t* hit = st.cache.find(word, h, cached)) {
    out.insert(out.end(), hit, hit + cached);
    return;
  }
  if (scheme_.ignore_merges) {
    auto whole = word_id_.find(std::string(word));
    if (whole != word_id_.end()) {
      out.push_back(whole->second);
      st.cache.insert(word, h, &whole->second, 1);
      return;
    }
  }
  size_t n = word.size();
  auto& ids = st.ids;
  auto& ranks = st.ranks;
  auto& merged = st.merged;
  ids.resize(n);
  ranks.resize(n);
  merged.resize(n);
  for (size_t i = 0; i < n; ++i) ids[i] = byte_id_[static_cast<unsigned char>(word[i])];
  auto refresh = [&](size_t i) {
    const MergeTable::Slot* s = merges_->find(ids[i], ids[i + 1]);
    ranks[i] = s ? s->rank : INT_MAX;
    merged[i] = s ? s->merged : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) refresh(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == INT_MAX) break;
    int32_t a = ids[best], b = ids[best + 1], m = merged[best];
    // Compact in place; an untouched token keeps the rank of its pair with the next token unless
    // that next token is a new one. New tokens are flagged with merged[w] = kNew until refreshed.
    constexpr int32_t kNew = -2;
    size_t w = best, r = best;
    while (r < n) {
      if (r + 1 < n && ids[r] == a && ids[r + 1] == b) {
        ids[w] = m;
        merged[w++] = kNew;
        r += 2;
      } else {
        ids[w] = ids[r];
        ranks[w] = ranks[r];
        merged[w++] = merged[r++];
      }
    }
    n = w;
    // Only pairs that touch a new token change: (left neighbour, new) and (new, right neighbour).
    for (size_t i = best > 0 ? best - 1 : 0; i < n; ++i) {
      if (merged[i] != kNew) continue;
      if (i > 0 && merged[i - 1] != kNew) refresh(i - 1);
      if (i + 1 < n)
        refresh(i);  // overwrites the kNew flag with the pair's merged id
      else
        merged[i] = -1;
    }
  }
  out.insert(out.end(), ids.begin(), ids.begin() + n);
  st.cache.insert(word, h, ids.data(), static_cast<uint32_t>(n));
}

void Gpt2Tokenizer::pre_tokenize(size_t step, std::string_view text,
                                 std::vector<int32_t>& out) const {
  if (step == scheme_.split_steps.size()) {  // a word
    if (text.size() == 1)
      out.push_back(byte_id_[static_cast<unsigned char>(text[0])]);
    else if (!text.empty())
      bpe_word(text, out);
    return;
  }
  if (const SplitRegex* regex = scheme_.split_steps[step].get()) {
    std::vector<std::string_view> pieces;
    regex->split_isolated(text, pieces);
    for (std::string_view piece : pieces) pre_tokenize(step + 1, piece, out);
    return;
  }
  // GPT-2's regex (the per-thread splitter keeps nothing between calls of next(), so the steps
  // after this one may use it too).
  Gpt2Splitter& splitter = *thread_state(instance_id_).splitter;
  size_t pos = 0;
  while (pos < text.size()) pre_tokenize(step + 1, splitter.next(text, pos), out);
}

void Gpt2Tokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  pre_tokenize(0, text, out);
}

// Added tokens are cut out first, leftmost first and, at one position, the longest (as Hugging
// Face's added vocabulary matches them); the text between them is encoded ordinarily.
void Gpt2Tokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) const {
  size_t start = 0;  // text[start, i) is not encoded yet
  for (size_t i = 0; i < text.size() && !matched_.empty(); ++i) {
    if (!starts_added_[static_cast<unsigned char>(text[i])]) continue;
    for (const BpeScheme::AddedToken& added : matched_) {
      if (text.compare(i, added.text.size(), added.text) != 0) continue;
      encode_ordinary(text.substr(start, i - start), out);
      out.push_back(added.id);
      start = i + added.text.size();
      i = start - 1;
      break;
    }
  }
  encode_ordinary(text.substr(start), out);
}

std::vector<int32_t> Gpt2Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 16);
  encode_append(text, out);
  return out;
}

std::vector<std::vector<int32_t>> Gpt2Tokenizer::encode_batch(
    const std::vector<std::string_view>& docs, int threads) const {
  std::vector<std::vector<int32_t>> out(docs.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(threads, std::max<size_t>(docs.size(), 1)));
  // Documents are handed out one at a time from a shared counter (they vary in length); each
  // thread keeps its own word cache, so the only shared write is the counter.
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&] {
    try {
      for (size_t i = next.fetch_add(1); i < docs.size(); i = next.fetch_add(1))
        out[i] = encode(docs[i]);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  return out;
}

std::vector<std::string_view> gpt2_split_text(std::string_view text, size_t chunk_bytes) {
  std::vector<std::string_view> out;
  chunk_bytes = std::max<size_t>(chunk_bytes, 1);
  size_t start = 0, p = chunk_bytes;
  while (p < text.size()) {
    unsigned char prev = static_cast<unsigned char>(text[p - 1]);
    if (text[p] == ' ' && prev > 0x20 && prev < 0x7F) {
      out.push_back(text.substr(start, p - start));
      start = p;
      p += chunk_bytes;
    } else {
      ++p;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

std::string Gpt2Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw Error("gpt2 tokenizer: token id " + std::to_string(id) + " is outside 0.." +
                  std::to_string(vocab_size() - 1));
    out += tokens_[id];
  }
  return out;
}

std::string Gpt2Tokenizer::decode_token(int32_t id) const { return decode({id}); }

// [SECTION] save / load
// -----------------------------------------------------------------------------

void Gpt2Tokenizer::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  if (!scheme_.tokenizer_json.empty()) {
    write_file(dir / "tokenizer.json", scheme_.tokenizer_json);
    const nlohmann::json spec = {{"type", "hf_bpe"},
                                 {"tokenizer_json", "tokenizer.json"},
                                 {"allow_special", allow_special_}};
    write_file(dir / kTokenizerFile, spec.dump(2) + "\n");
    return;
  }
  write_file(dir / "encoder.json", encoder_json_);
  write_file(dir / "vocab.bpe", vocab_bpe_);
  nlohmann::json spec = {{"type", "gpt2"},
                         {"encoder", "encoder.json"},
                         {"vocab_bpe", "vocab.bpe"},
                         {"allow_special", allow_special_}};
  write_file(dir / kTokenizerFile, spec.dump(2) + "\n");
}

std::unique_ptr<Tokenizer> make_gpt2_tokenizer(const std::filesystem::path& encoder_json,
                                               const std::filesystem::path& vocab_bpe,
                                               bool allow_special) {
  std::string enc = read_file(encoder_json, "encoder file");
  std::string bpe = read_file(vocab_bpe, "BPE merges file");
  return std::make_unique<Gpt2Tokenizer>(std::move(enc), std::move(bpe), allow_special,
                                         encoder_json.string(), vocab_bpe.string());
}

std::unique_ptr<Tokenizer> load_gpt2_tokenizer(const nlohmann::json& spec,
                                               const std::filesystem::path& dir) {
  auto where = (dir / kTokenizerFile).string();
  auto field = [&](const char* key, const char* fallback) -> std::string {
    if (!spec.contains(key)) return fallback;
    if (!spec[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
    return spec[key].get<std::string>();
  };
  std::string encoder = field("encoder", "encoder.json");
  std::string vocab = field("vocab_bpe", "vocab.bpe");
  bool allow_special = true;
  if (spec.contains("allow_special")) {
    if (!spec["allow_special"].is_boolean())
      throw Error(where + ": \"allow_special\" must be true or false");
    allow_special = spec["allow_special"].get<bool>();
  }
  return make_gpt2_tokenizer(dir / encoder, dir / vocab, allow_special);
}

}  // namespace llm
