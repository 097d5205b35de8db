#include "llm/io/toml_file.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string_view>

#include <toml++/toml.h>

#include "llm/core/error.hpp"
#include "llm/core/printable.hpp"

namespace llm {

namespace {

// A scalar TOML value as the text a flag would carry; false for a table or an array.
bool scalar_text(const toml::node& node, std::string& text) {
  if (const auto* s = node.as_string()) {
    text = s->get();
  } else if (const auto* i = node.as_integer()) {
    text = std::to_string(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", f->get());
    text = buffer;
  } else if (const auto* b = node.as_boolean()) {
    text = b->get() ? "true" : "false";
  } else {
    return false;  // a table, an array, a date or a time
  }
  return true;
}

// TOML allows non-ASCII characters only inside strings and comments (bare keys are A-Za-z0-9_-).
// Anywhere else it is an error, found here before toml++ sees the text: toml++ 3.3 (Debian 12)
// reaches undefined behaviour (a __builtin_unreachable in is_non_ascii_horizontal_whitespace)
// when it tests most such characters, e.g. U+00F8, for whitespace. Returns the line of the first
// one, or 0.
int first_line_with_non_ascii_outside_strings(std::string_view text) {
  enum class State { code, comment, basic, literal, multiline_basic, multiline_literal };
  State state = State::code;
  int line = 1;
  for (size_t i = 0; i < text.size(); i++) {
    auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    const char c = text[i];
    if (c == '\n') line++;
    switch (state) {
      case State::code:
        if (static_cast<unsigned char>(c) >= 0x80) return line;
        if (c == '#') {
          state = State::comment;
        } else if (starts(R"(""")")) {
          state = State::multiline_basic;
          i += 2;
        } else if (starts("'''")) {
          state = State::multiline_literal;
          i += 2;
        } else if (c == '"') {
          state = State::basic;
        } else if (c == '\'') {
          state = State::literal;
        }
        break;
      case State::comment:
        if (c == '\n') state = State::code;
        break;
      case State::basic:  // ends at an unescaped quote or, unterminated, at the end of the line
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          i++;
        } else if (c == '"' || c == '\n') {
          state = State::code;
        }
        break;
      case State::literal:
        if (c == '\'' || c == '\n') state = State::code;
        break;
      case State::multiline_basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          i++;
        } else if (starts(R"(""")")) {
          state = State::code;
          i += 2;
        }
        break;
      case State::multiline_literal:
        if (starts("'''")) {
          state = State::code;
          i += 2;
        }
        break;
    }
  }
  return 0;
}

}  // namespace

std::vector<TomlSetting> read_toml_settings(const std::filesystem::path& path) {
  const std::string name = printable(path.string());
  std::error_code ec;
  check(std::filesystem::exists(path, ec), name + ": no such file");
  check(!std::filesystem::is_directory(path, ec), name + ": is a directory, expected a TOML file");
  std::ifstream in(path, std::ios::binary);
  check(bool(in), name + ": cannot open for reading");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (const int line = first_line_with_non_ascii_outside_strings(text))
    throw Error(name + ":" + std::to_string(line) +
                ": a non-ASCII character outside a string or comment (keys and values are ASCII)");
  toml::table table;
  try {
    table = toml::parse(text, path.string());
  } catch (const toml::parse_error& e) {
    throw Error(name + ":" + std::to_string(e.source().begin.line) + ": " +
                printable(std::string(e.description())));
  }
  std::vector<TomlSetting> settings;
  for (const auto& [key, node] : table) {
    TomlSetting setting;
    setting.key = std::string(key.str());
    setting.line = int(node.source().begin.line);
    const std::string where =
        name + ":" + std::to_string(setting.line) + ": '" + printable(setting.key) + "'";
    std::string text;
    if (scalar_text(node, text)) {
      setting.values.push_back(text);
    } else if (const auto* array = node.as_array()) {
      for (const toml::node& item : *array) {
        check(scalar_text(item, text),
              where + ": expected an array of numbers, strings or booleans");
        setting.values.push_back(text);
      }
    } else {
      throw Error(
          where +
          ": expected a number, string, boolean or array (settings are not grouped in tables)");
    }
    settings.push_back(std::move(setting));
  }
  return settings;
}

}  // namespace llm
