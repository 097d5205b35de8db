#include "llm/io/toml_file.hpp"

#include <cstdio>

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

}  // namespace

std::vector<TomlSetting> read_toml_settings(const std::filesystem::path& path) {
  const std::string name = printable(path.string());
  std::error_code ec;
  check(std::filesystem::exists(path, ec), name + ": no such file");
  check(!std::filesystem::is_directory(path, ec), name + ": is a directory, expected a TOML file");
  toml::table table;
  try {
    table = toml::parse_file(path.string());
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
