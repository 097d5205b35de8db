#pragma once
// defines: llm::read_toml_settings, a flat TOML file of settings (a `glassbox train --config` file)
// read strictly with toml++: a duplicate key, an unterminated string, a key without a value, a
// missing file or a directory is a one-line error "FILE:LINE: what" (control characters escaped).
#include <filesystem>
#include <string>
#include <vector>

namespace llm {

struct TomlSetting {
  std::string key;                  // e.g. "learning_rate"
  std::vector<std::string> values;  // one for a scalar, one per item for an array, as text
  int line = 0;                     // where the key stands, for messages
};

// The top-level keys in file order. Values become text that parses back to the same value: strings
// as they are, integers in decimal, floats with 17 significant digits, booleans as true / false.
// Tables (sections) and nested arrays are refused, naming the key: settings are flat.
std::vector<TomlSetting> read_toml_settings(const std::filesystem::path& path);

}  // namespace llm
