#pragma once
// defines: llm::printable, text made safe for a one-line message.
//
// Errors echo what the user gave them (a key, a flag, a path). A carriage return, a newline or an
// escape sequence in that text would split the message or play tricks on the terminal, so control
// characters are written as \n, \r, \t or \xHH; everything else (UTF-8 included) is kept.
#include <cstdio>
#include <string>

namespace llm {

inline std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace llm
