#pragma once
// defines: llm::read_json_file, a whole JSON file (config.json, train_state.json, a tokenizer file)
// with one-line errors that name it: missing, a directory, unreadable, or not valid JSON.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace llm {

// `hint` follows "cannot open" when the file is missing, e.g. "(is this a checkpoint directory?)".
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& hint = "");

}  // namespace llm
