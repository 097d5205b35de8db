// The trainer end to end on a small generated corpus: resuming continues bit for bit, the loss
// falls, and a checkpoint with a NaN weight is refused before a step without touching any
// checkpoint.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/data/prepare.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/trainer.hpp"
#include "test_inputs.hpp"
#include "train_fixture.hpp"

namespace fs = std::filesystem;
using namespace llm;
using train_fixture::make_dataset;
using train_fixture::read_metrics;
using train_fixture::tiny_run;

namespace {

// `run` (made by tiny_run) for 12 steps in one go, and stopped after 7 then resumed: the same
// metrics and the same final weights, bit for bit.
void check_resume_is_bit_identical(const fs::path& root, const fs::path& data,
                                   const std::function<void(TrainConfig&)>& adjust) {
  TrainConfig whole_run = tiny_run(data, root / "whole");
  adjust(whole_run);
  train(whole_run);  // 12 steps in one go

  TrainConfig first = tiny_run(data, root / "split");
  adjust(first);
  first.max_steps = 7;  // "interrupted" after 7 steps: the final checkpoint holds step 7
  train(first);
  TrainConfig second = tiny_run(data, root / "split");
  adjust(second);
  second.resume = true;
  second.extend = true;  // past the first run's 7 steps, on the same fixed schedule
  train(second);

  const auto whole = read_metrics(root / "whole"), split = read_metrics(root / "split");
  REQUIRE(whole.size() == split.size());
  for (size_t i = 0; i < whole.size(); i++) {
    INFO("metrics line " << i << ": " << whole[i].dump() << " vs " << split[i].dump());
    CHECK(whole[i]["step"] == split[i]["step"]);
    for (const char* key :
         {"loss", "val_loss", "grad_norm", "lr", "layer_grad_norm", "layer_update_ratio"})
      if (whole[i].contains(key)) CHECK(whole[i][key] == split[i][key]);  // exact: same bits
  }
  // and the final weights are the same bits
  const auto a = SafeTensorsFile(root / "whole" / "checkpoint" / "model.safetensors");
  const auto b = SafeTensorsFile(root / "split" / "checkpoint" / "model.safetensors");
  for (const auto& name : a.names()) {
    const auto& info = a.info(name);
    CHECK(std::equal(a.raw(name), a.raw(name) + (info.end - info.begin), b.raw(name)));
  }
}

}  // namespace

TEST_CASE("resume after N steps gives bit-identical losses to an uninterrupted run") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_resume";
  check_resume_is_bit_identical(root, make_dataset(root), [](TrainConfig&) {});
}

TEST_CASE(
    "Muon with grad accumulation: resume is bit-identical, the momentum is in the checkpoint") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_resume_muon";
  const auto muon = [](TrainConfig& c) {
    c.optimizer = "muon";
    c.batch_size = 2;
    c.grad_accum = 2;
    c.embedding_learning_rate = 1e-2f;
    c.gain_bias_learning_rate = 2e-3f;
  };
  check_resume_is_bit_identical(root, make_dataset(root), muon);
  // The momentum of every hidden matrix is saved (2 layers, C = 16), and has moved from 0.
  const SafeTensorsFile state(root / "whole" / "checkpoint" / "train_state.safetensors");
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"muon.qkvw", {2, 48, 16}},
      {"muon.attprojw", {2, 16, 16}},
      {"muon.fcw", {2, 64, 16}},
      {"muon.fcprojw", {2, 16, 64}}};
  for (const auto& [name, shape] : expected) {
    INFO(name);
    const std::vector<float> momentum = state.read_f32(name, shape);
    CHECK(std::any_of(momentum.begin(), momentum.end(), [](float x) { return x != 0.0f; }));
  }
}

TEST_CASE("Muon lowers the loss well below its initial value") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_learns_muon";
  const fs::path data = make_dataset(root);
  TrainConfig c = tiny_run(data, root / "run");
  c.optimizer = "muon";
  c.max_steps = 150;
  c.lr_decay_steps = 150;
  c.eval_interval = 1000;
  const TrainResult result = train(c);
  const double initial = read_metrics(root / "run").front()["val_loss"];
  MESSAGE("Muon: val loss " << initial << " -> " << result.final_val_loss);
  CHECK(result.final_val_loss < 0.6 * initial);
}

TEST_CASE("training lowers the loss well below its initial value") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_learns";
  const fs::path data = make_dataset(root);
  TrainConfig c = tiny_run(data, root / "run");
  c.max_steps = 150;
  c.lr_decay_steps = 150;
  c.eval_interval = 1000;
  const TrainResult result = train(c);
  const auto metrics = read_metrics(root / "run");
  const double initial = metrics.front()["val_loss"];  // ~ln(vocab) at step 0
  MESSAGE("val loss " << initial << " -> " << result.final_val_loss);
  CHECK(result.final_val_loss < 0.6 * initial);
}

TEST_CASE(
    "--init-from a checkpoint with a NaN weight is refused at load, naming the file and tensor") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_nan";
  const fs::path data = make_dataset(root);
  TrainConfig c = tiny_run(data, root / "run");
  c.max_steps = 2;
  train(c);
  // poison the weights: a checkpoint whose wte holds NaN
  const fs::path poisoned = root / "poisoned";
  fs::copy(root / "run" / "checkpoint", poisoned);
  {
    auto backend = make_cpu_backend();
    GPT model(read_checkpoint_config(poisoned), *backend);
    load_model_weights(poisoned, model);
    std::vector<double> w = tensor_to_host_f64(*backend, model.params.wte);
    w[3] = std::nan("");
    tensor_from_host_f64(*backend, model.params.wte, w);
    save_model_checkpoint(poisoned, model, nullptr);
  }
  TrainConfig bad = tiny_run(data, root / "nan_run");
  bad.init_from = poisoned.string();
  bad.checkpoint_interval = 1;
  // Said at load, before any step, instead of a NaN loss blamed on the learning rate.
  CHECK_THROWS_WITH_AS(
      train(bad), doctest::Contains("tensor 'transformer.wte.weight': holds a non-finite value"),
      Error);
  CHECK_FALSE(fs::exists(root / "nan_run" / "checkpoint"));  // nothing half-written
}

TEST_CASE("a NaN loss names the last checkpoint only when there is one") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_nan_message";
  const fs::path data = make_dataset(root);
  // A learning rate of 1e38 sends the weights past f32's range in the first update, so the second
  // step's loss is not finite.
  TrainConfig fresh = tiny_run(data, root / "fresh");
  fresh.learning_rate = 1e38f;
  const std::string none = test_inputs::error_of([&] { train(fresh); });
  CHECK(none.find("loss is") != std::string::npos);
  CHECK(none.find("no checkpoint was written yet") != std::string::npos);
  CHECK(none.find("holds the last checkpoint") == std::string::npos);
  CHECK_FALSE(fs::exists(root / "fresh" / "checkpoint"));

  // Two good steps end in a checkpoint; resumed at the same learning rate of 1e38, the run names
  // it.
  TrainConfig good = tiny_run(data, root / "resumed");
  good.max_steps = 2;
  train(good);
  TrainConfig blown = tiny_run(data, root / "resumed");
  blown.resume = true;
  blown.extend = true;
  blown.learning_rate = 1e38f;
  blown.resume_override = "learning_rate";
  const std::string saved = test_inputs::error_of([&] { train(blown); });
  const std::string ckpt = (root / "resumed" / "checkpoint").string();
  CHECK(saved.find(ckpt + " holds the last checkpoint (step 2)") != std::string::npos);
  CHECK(saved.find("no checkpoint was written") == std::string::npos);
}

TEST_CASE("bias = false keeps every bias at exactly 0 while the weights train") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_nobias";
  const fs::path data = make_dataset(root);
  TrainConfig c = tiny_run(data, root / "run");
  c.bias = false;
  c.data_sampling = "random";
  c.max_steps = 5;
  train(c);
  auto backend = make_cpu_backend();
  const fs::path ckpt = root / "run" / "checkpoint";
  GPT model(read_checkpoint_config(ckpt), *backend);
  load_model_weights(ckpt, model);
  GPT fresh(model.config(), *backend);
  fresh.init_weights(c.seed);
  model.params.visit([&](const char* name, Tensor& t, Shape) {
    const std::vector<double> values = tensor_to_host_f64(*backend, t);
    if (is_bias(name)) {
      for (double v : values) REQUIRE(v == 0.0);
    } else if (std::string(name) == "qkvw") {
      CHECK(values != tensor_to_host_f64(*backend, fresh.params.qkvw));  // weights did train
    }
  });
}

TEST_CASE("ZeRO-1 AdamW: W optimizers on the shards of the flat parameters make one full update") {
  // The sharded update splits the flat range at tensor boundaries (weight decay is per tensor);
  // shards of 3 ranks cut through the middle of tensors, so this covers the splitting.
  auto backend = make_cpu_backend();
  GPTConfig config;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_embd = 16;
  config.max_seq_len = 8;
  config.vocab_size = 11;
  GPT full(config, *backend), sharded(config, *backend);
  full.init_weights(7);
  sharded.init_weights(7);
  const int64_t N = parameter_arena_size(config);
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> grad(static_cast<size_t>(N));

  const AdamWConfig adam{0.9f, 0.95f, 1e-8f, 0.1f};
  AdamW one(full, adam);
  const int W = 3;
  std::vector<std::unique_ptr<AdamW>> ranks;
  for (int r = 0; r < W; r++)
    ranks.push_back(std::make_unique<AdamW>(sharded, adam, shard_range(N, W, r)));
  for (int step = 0; step < 3; step++) {
    for (double& g : grad) g = normal(rng);
    tensor_from_host_f64(*backend, flat_view(full.grads), grad);
    tensor_from_host_f64(*backend, flat_view(sharded.grads), grad);
    one.step(1e-2f, 0.5f);
    for (auto& rank : ranks) rank->step(1e-2f, 0.5f);
  }
  const auto a = tensor_to_host_f64(*backend, flat_view(full.params));
  const auto b = tensor_to_host_f64(*backend, flat_view(sharded.params));
  // Element-wise math, but not always the same bits: where a cut falls, Eigen handles a few
  // elements in its scalar tail instead of its vector body, which fuses (FMA) differently: a
  // float32 rounding of an update of size ~lr = 1e-2 per step, i.e. ~1e-9, far below 1e-7.
  double worst = 0;
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); i++) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
    differ += a[i] != b[i];
  }
  MESSAGE(differ << " of " << N << " parameters differ, by at most " << worst);
  CHECK(worst < 1e-7);
  const auto m = tensor_to_host_f64(*backend, one.m());
  for (int r = 0; r < W; r++) {
    const ShardRange s = shard_range(N, W, r);
    const auto mr = tensor_to_host_f64(*backend, ranks[size_t(r)]->m());
    CHECK(std::equal(mr.begin(), mr.end(), m.begin() + s.begin));
  }
}
