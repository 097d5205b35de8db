// glassbox: the command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/core/error.hpp"
#include "llm/core/printable.hpp"

namespace {

// Levenshtein distance: the fewest single-character insertions, deletions and substitutions that
// turn a into b ("trian" -> "train" is 2).
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

// CLI11 answers a mistyped command with "A subcommand is required", without the word it got: the
// first argument, when it is not an option, must name a subcommand, and the nearest is suggested.
void check_subcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return;  // none (CLI11 says one is required) or --help
  const std::string word = argv[1];
  std::string names, nearest;
  size_t best = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    if (name == word) return;
    names += (names.empty() ? "" : ", ") + name;
    if (edit_distance(word, name) < best) best = edit_distance(word, name), nearest = name;
  }
  const std::string suggestion = best <= 2 ? " (did you mean '" + nearest + "'?)" : "";
  throw llm::Error("unknown command '" + word + "'" + suggestion + "; the commands are " + names);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"glassbox: a readable GPT training and inference codebase"};
  app.require_subcommand(1);
  llm::cli::register_train(app);
  llm::cli::register_sweep(app);
  llm::cli::register_sample(app);
  llm::cli::register_eval(app);
  llm::cli::register_info(app);
  llm::cli::register_tokenize(app);
  llm::cli::register_train_tokenizer(app);
  llm::cli::register_bench(app);
  llm::cli::register_bench_attention(app);
  llm::cli::register_bench_load(app);
  llm::cli::register_convert(app);
  // Every message is one line: control characters in what the user typed are escaped.
  try {
    check_subcommand(app, argc, argv);
    std::vector<std::string> args = llm::cli::expand_config_files(app, argc, argv);
    app.parse(args);  // subcommand callbacks run inside parse()
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "glassbox: error: %s (see --help)\n", llm::printable(e.what()).c_str());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glassbox: error: %s\n", llm::printable(e.what()).c_str());
    return 1;
  }
  return 0;
}
