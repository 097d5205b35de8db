// glassbox train: train a GPT on token shards (see llm/train/trainer.hpp).
//
//   glassbox train --config experiments/shakespeare_char/config.toml
#include <memory>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/train/trainer.hpp"

namespace llm::cli {

void register_train(CLI::App& app) {
  auto config = std::make_shared<TrainConfig>();
  CLI::App* cmd = app.add_subcommand("train", "Train a GPT on token shards");
  add_config_file_option(cmd);
  add_train_options(cmd, *config);
  cmd->callback([config] { train(*config); });
}

}  // namespace llm::cli
