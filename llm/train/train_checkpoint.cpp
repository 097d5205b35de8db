#include "llm/train/train_checkpoint.hpp"

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/safetensors.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

void add_moments(std::vector<SafeTensorOut>& out, const std::string& prefix, ParameterTensors& moments,
                 Backend& backend) {
  moments.visit([&](const char* name, Tensor& t, Shape shape) {
    std::vector<int64_t> dims(shape.dims.begin(), shape.dims.begin() + shape.rank);
    if (t.dtype == DType::f64) {
      out.push_back(safetensor_f64(prefix + name, dims, tensor_to_host_f64(backend, t).data()));
    } else {
      out.push_back(safetensor_f32(prefix + name, dims, tensor_to_host_f32(backend, t).data()));
    }
  });
}

void read_moments(const SafeTensorsFile& file, const std::string& prefix, ParameterTensors& moments,
                  Backend& backend) {
  moments.visit([&](const char* name, Tensor& t, Shape shape) {
    std::vector<int64_t> dims(shape.dims.begin(), shape.dims.begin() + shape.rank);
    load_stored_tensor(backend, t, file.stored(prefix + name, dims), /*transpose=*/false);
  });
}

}  // namespace

void save_training_checkpoint(const fs::path& dir, GPT& model, AdamW& optimizer,
                              const Tokenizer* tokenizer, const TrainState& state, Comm& comm) {
  check(state.optimizer_steps == optimizer.steps_taken(), "train state and optimizer disagree");
  Backend& backend = model.backend();
  const GPTConfig& config = model.config();
  // The whole moments (and f32 master weights, where the parameters are bf16) as named views: the
  // optimizer's own, or (ZeRO-1) gathered from every rank's shard into scratch buffers on rank 0
  // that live until the file is written (the other ranks allocate nothing: they only send).
  const int64_t N = parameter_arena_size(config);
  std::vector<FlatBuffer> gathered;
  gathered.reserve(3);
  auto whole = [&](Tensor shard) {
    if (optimizer.holds_everything()) return shard;
    Tensor full{nullptr, shard.dtype, backend.device(), Shape{N}};  // off the root only the shape is read
    if (comm.is_root()) full = gathered.emplace_back(backend, shard.dtype, N).tensor;
    comm.gather(full, shard, 0);
    return full;
  };
  const Tensor m = whole(optimizer.m()), v = whole(optimizer.v());
  const Tensor master = optimizer.master().empty() ? Tensor{} : whole(optimizer.master());
  if (!comm.is_root()) return;
  ParameterTensors m_views = parameter_views(m, config), v_views = parameter_views(v, config);
  // model.safetensors holds the masters when there are any, so nothing is lost to bf16 rounding.
  ParameterTensors weights = master.empty() ? model.params : parameter_views(master, config);
  write_directory_atomically(dir, [&](const fs::path& tmp) {
    write_model_files(tmp, weights, backend, tokenizer);
    std::vector<SafeTensorOut> moments;
    add_moments(moments, "m.", m_views, backend);
    add_moments(moments, "v.", v_views, backend);
    write_safetensors(tmp / "train_state.safetensors", moments);
    nlohmann::json j = {
        {"step", state.step},
        {"optimizer_steps", state.optimizer_steps},
        {"train_loader",
         {{"epoch", state.train_loader.epoch},
          {"shard", state.train_loader.shard},
          {"position", state.train_loader.position}}},
        {"world_size", state.world_size},
        {"global_batch", state.global_batch},
        {"config", state.config},
    };
    std::ofstream out(tmp / "train_state.json");
    out << j.dump(2) << "\n";
    check(bool(out), "cannot write " + (tmp / "train_state.json").string());
  });
}

TrainState read_train_state(const fs::path& dir) {
  const fs::path path = dir / "train_state.json";
  std::ifstream in(path);
  check(bool(in), path.string() + ": cannot open (a model-only checkpoint cannot be resumed)");
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    TrainState state;
    state.step = j.at("step").get<int64_t>();
    state.optimizer_steps = j.at("optimizer_steps").get<int64_t>();
    const auto& loader = j.at("train_loader");
    state.train_loader.epoch = loader.at("epoch").get<int64_t>();
    state.train_loader.shard = loader.at("shard").get<int64_t>();
    state.train_loader.position = loader.at("position").get<int64_t>();
    state.config = j.at("config").get<TrainConfig>();
    // Written since data-parallel training; older checkpoints come from one process.
    state.world_size = j.value("world_size", 1);
    state.global_batch = j.value("global_batch", int64_t(state.config.batch_size) * state.config.grad_accum);
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed (" + e.what() + ")");
  }
}

namespace {

// Parameter-shaped values go into this rank's range of a flat optimizer buffer: read_into(views)
// fills named views of the whole buffer, read here directly or (ZeRO-1) into scratch first.
template <typename ReadInto>
void load_shard(Backend& backend, const AdamW& optimizer, const GPTConfig& config, Tensor shard_tensor,
                const ReadInto& read_into) {
  if (optimizer.holds_everything()) {
    ParameterTensors views = parameter_views(shard_tensor, config);
    read_into(views);
    return;
  }
  FlatBuffer full(backend, shard_tensor.dtype, parameter_arena_size(config));
  ParameterTensors views = parameter_views(full.tensor, config);
  read_into(views);
  const ShardRange shard = optimizer.shard();
  backend.convert(shard_tensor, flat_range(full.tensor, shard.begin, shard.end));
}

}  // namespace

void load_weights_and_masters(const fs::path& dir, GPT& model, AdamW& optimizer) {
  load_model_weights(dir, model);
  if (optimizer.master().empty()) return;
  // The f32 masters, exactly as saved (the bf16 weights are their rounding).
  SafeTensorsFile weights(dir / "model.safetensors");
  Backend& backend = model.backend();
  load_shard(backend, optimizer, model.config(), optimizer.master(),
             [&](ParameterTensors& views) { import_hf_tensors(views, backend, weights); });
}

TrainState load_training_checkpoint(const fs::path& dir, GPT& model, AdamW& optimizer) {
  TrainState state = read_train_state(dir);
  load_weights_and_masters(dir, model, optimizer);
  SafeTensorsFile moments(dir / "train_state.safetensors");
  Backend& backend = model.backend();
  const GPTConfig& config = model.config();
  load_shard(backend, optimizer, config, optimizer.m(),
             [&](ParameterTensors& views) { read_moments(moments, "m.", views, backend); });
  load_shard(backend, optimizer, config, optimizer.v(),
             [&](ParameterTensors& views) { read_moments(moments, "v.", views, backend); });
  optimizer.set_steps_taken(state.optimizer_steps);
  return state;
}

}  // namespace llm
