// glassbox: the command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"glassbox: a readable GPT training and inference codebase"};
  app.require_subcommand(1);
  llm::cli::register_train(app);
  llm::cli::register_sample(app);
  llm::cli::register_eval(app);
  llm::cli::register_info(app);
  llm::cli::register_tokenize(app);
  llm::cli::register_train_tokenizer(app);
  llm::cli::register_bench(app);
  llm::cli::register_bench_attention(app);
  llm::cli::register_bench_load(app);
  llm::cli::register_convert(app);
  try {
    std::vector<std::string> args = llm::cli::expand_config_files(app, argc, argv);
    app.parse(args);  // subcommand callbacks run inside parse()
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "glassbox: error: %s (see --help)\n", e.what());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glassbox: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
