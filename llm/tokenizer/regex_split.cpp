// implements: llm::SplitRegex (PCRE2), spell_out_white_space, unicode_white_space_class.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "llm/tokenizer/regex_split.hpp"

#include <pcre2.h>

#include "llm/core/error.hpp"

namespace llm {

const char* unicode_white_space_class() {
  return "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
         "\\x{202F}\\x{205F}\\x{3000}";
}

std::string spell_out_white_space(std::string_view pattern, const std::string& where) {
  const std::string ws = unicode_white_space_class();
  std::string out;
  int depth = 0;  // nesting of [...] (Oniguruma allows sets inside sets, and [:alpha:])
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += depth > 0 ? ws : "[" + ws + "]";
      } else if (e == 'S') {
        check(depth == 0, where + ": \\S inside a character class is not supported");
        out += "[^" + ws + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    out += c;
    if (c == '[') {
      ++depth;
      // A ']' first in the set (after an optional '^') is a literal, not the end.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
    } else if (c == ']' && depth > 0) {
      --depth;
    }
  }
  return out;
}

namespace {

// What one thread needs to match any pattern: room for the whole match (captures are not used)
// and a JIT stack larger than the 32 KiB default, since patterns like \s+(?!\S) backtrack over
// long white-space runs.
struct MatchBuffers {
  pcre2_match_data* match = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  MatchBuffers() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchBuffers() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(match);
  }
  MatchBuffers(const MatchBuffers&) = delete;
  MatchBuffers& operator=(const MatchBuffers&) = delete;
};

MatchBuffers& match_buffers() {
  thread_local MatchBuffers buffers;
  return buffers;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(code, message, sizeof message);
  return reinterpret_cast<const char*>(message);
}

}  // namespace

struct SplitRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

SplitRegex::SplitRegex(std::string_view pattern, const std::string& where)
    : code_(std::make_unique<Code>()), pattern_(pattern), where_(where) {
  const std::string spelled = spell_out_white_space(pattern, where);
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(spelled.data()), spelled.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  check(code_->code != nullptr, where + ": the pattern does not compile with PCRE2 (" +
                                    pcre2_message(error) + " at offset " + std::to_string(offset) +
                                    " of " + spelled + ")");
  pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE);  // the interpreter runs it if JIT is missing
}

SplitRegex::~SplitRegex() = default;

void SplitRegex::split_isolated(std::string_view text, std::vector<std::string_view>& out) const {
  MatchBuffers& buffers = match_buffers();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t done = 0;    // text[0, done) is in `out`
  size_t search = 0;  // where the next match may start
  while (search < text.size()) {
    const int rc =
        pcre2_match(code_->code, subject, text.size(), search, 0, buffers.match, buffers.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    // rc == 0 means the one-pair buffer had no room for captures; the whole match is still there.
    check(rc >= 0, where_ + ": matching failed (" + pcre2_message(rc) + ")");
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(buffers.match);
    const size_t start = ovector[0], end = ovector[1];
    if (end == start) {
      // An empty match cuts nothing: look again from the next character.
      search = start + 1;
      while (search < text.size() && (static_cast<unsigned char>(text[search]) & 0xC0) == 0x80)
        ++search;
      continue;
    }
    if (start > done) out.push_back(text.substr(done, start - done));
    out.push_back(text.substr(start, end - start));
    done = search = end;
  }
  if (done < text.size()) out.push_back(text.substr(done));
}

}  // namespace llm
