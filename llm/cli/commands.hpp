#pragma once
// defines: one register_* function per glassbox subcommand, each in its own cmd_*.cpp.
#include <CLI/CLI.hpp>

namespace llm::cli {

void register_train(CLI::App& app);
void register_sweep(CLI::App& app);
void register_sample(CLI::App& app);
void register_eval(CLI::App& app);
void register_info(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_bench_attention(CLI::App& app);
void register_bench_load(CLI::App& app);
void register_train_tokenizer(CLI::App& app);
void register_convert(CLI::App& app);

}  // namespace llm::cli
