// glassbox: the command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "llm/cli/commands.hpp"
#include "llm/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"glassbox: a readable GPT training and inference codebase"};
  app.require_subcommand(1);
  llm::cli::register_train(app);
  llm::cli::register_sample(app);
  llm::cli::register_eval(app);
  llm::cli::register_info(app);
  llm::cli::register_tokenize(app);
  try {
    app.parse(argc, argv);  // subcommand callbacks run inside parse()
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glassbox: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
