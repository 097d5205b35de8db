#pragma once
// defines: add_train_options, the flags (and TOML keys) of TrainConfig, shared by train and bench.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "llm/train/train_config.hpp"

namespace llm::cli {

// Every TrainConfig field as a flag that answers to both spellings, --batch-size and --batch_size;
// the underscore form is the key in a TOML config file (`batch_size = 12`).
void add_train_options(CLI::App* cmd, TrainConfig& config);

// --config FILE: a TOML file of the same keys; an unknown key is an error, flags override the file.
// Registers the option for --help; the file itself is read by expand_config_files.
void add_config_file_option(CLI::App* cmd);

// `glassbox train --config F` is expanded before parsing (CLI11 2.1 reads config files only for the
// top-level app, and its reader accepts duplicate keys and unterminated strings): F is read
// strictly by read_toml_settings (llm/io/toml_file.hpp) and its keys become flags placed ahead of
// the user's own flags, which therefore override them (options keep their last value). Returns the
// arguments in the reversed order that CLI::App::parse(std::vector<std::string>&) expects. Throws
// llm::Error naming the file and line for a missing file, a directory, a TOML syntax error or an
// unknown key.
std::vector<std::string> expand_config_files(CLI::App& app, int argc, char** argv);

}  // namespace llm::cli
