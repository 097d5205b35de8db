#include "llm/train/train_checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/json_file.hpp"
#include "llm/io/safetensors.hpp"
#include "llm/io/safetensors_shards.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

// The moments as safetensors sources under prefix + our names, each streamed from its arena when
// the file is written (F64 for f64 moments, else F32).
// A tensor of the arena streamed into the file as F32 (F64 when the backend is f64).
SafeTensorSource streamed(std::string name, const Tensor& t, const Shape& shape, Backend& backend) {
  std::vector<int64_t> dims(shape.dims.begin(), shape.dims.begin() + shape.rank);
  const DType file_dtype = t.dtype == DType::f64 ? DType::f64 : DType::f32;
  return {std::move(name), file_dtype == DType::f64 ? "F64" : "F32", dims,
          [&backend, values = t, file_dtype](const ByteSink& sink) {
            stream_tensor_values(backend, values, values.rows(), values.last_dim(), file_dtype,
                                 /*transpose=*/false, sink);
          }};
}

void add_moments(std::vector<SafeTensorSource>& out, const std::string& prefix,
                 ParameterTensors& moments, Backend& backend) {
  moments.visit([&](const char* name, Tensor& t, Shape shape) {
    out.push_back(streamed(prefix + name, t, shape, backend));
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
                              const Tokenizer* tokenizer, const TrainState& state, Comm& comm,
                              Muon* muon) {
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
    Tensor full{nullptr, shard.dtype, backend.device(),
                Shape{N}};  // off the root only the shape is read
    if (comm.is_root()) full = gathered.emplace_back(backend, shard.dtype, N).tensor;
    comm.gather(full, shard, 0);
    return full;
  };
  const Tensor m = whole(optimizer.m()), v = whole(optimizer.v());
  const Tensor master = optimizer.master().empty() ? Tensor{} : whole(optimizer.master());
  if (!comm.is_root()) return;
  ParameterTensors m_views = parameter_views(m, config), v_views = parameter_views(v, config);
  // model.safetensors holds the masters when there are any, so nothing is lost to bf16 rounding:
  // AdamW's, and Muon's for the hidden matrices (AdamW's copy of those never moves).
  ParameterTensors weights = master.empty() ? model.params : parameter_views(master, config);
  if (muon) {
    muon->visit_master([&](const char* name, Tensor t) {
      weights.visit([&](const char* n, Tensor& w, Shape) {
        if (std::strcmp(n, name) == 0) w = t;
      });
    });
  }
  write_directory_atomically(dir, [&](const fs::path& tmp) {
    write_model_files(tmp, weights, backend, tokenizer);
    std::vector<SafeTensorSource> moments;
    add_moments(moments, "m.", m_views, backend);
    add_moments(moments, "v.", v_views, backend);
    if (muon) {
      muon->visit_momentum([&](const char* name, Tensor t) {
        moments.push_back(streamed(std::string("muon.") + name, t, t.shape, backend));
      });
    }
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

namespace {

// An integer of train_state.json within [lo, hi]. A fraction, a string, or a number beyond int64
// (which a plain get<int64_t>() would wrap around) is an error naming the key and the range.
int64_t integer_in(const nlohmann::json& j, const std::string& key, int64_t lo, int64_t hi) {
  const nlohmann::json& v = j.at(key);
  const bool integer =
      v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX));
  const int64_t x = integer ? v.get<int64_t>() : 0;
  if (!integer || x < lo || x > hi)
    throw Error("\"" + key + "\" is " + v.dump() + ", expected an integer in [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

// The config's integers must survive the trip into TrainConfig's fields: 4294967298 read into an
// int would otherwise become 2.
void check_integers_fit(const nlohmann::json& saved, const TrainConfig& config) {
  const nlohmann::json read_back = config;
  for (const auto& [key, value] : saved.items()) {
    if (value.is_number_integer() && read_back.contains(key) && read_back[key] != value)
      throw Error("\"config\": \"" + key + "\" is " + value.dump() +
                  ", out of range for this setting");
  }
}

}  // namespace

TrainState read_train_state(const fs::path& dir) {
  const fs::path path = dir / "train_state.json";
  const nlohmann::json j = read_json_file(path, "(a model-only checkpoint cannot be resumed)");
  try {
    TrainState state;
    const nlohmann::json& config = j.at("config");
    state.config = config.get<TrainConfig>();
    check_integers_fit(config, state.config);
    state.config.validate();
    // A checkpoint is written after a step, so its next step lies in [0, max_steps]; each step made
    // one AdamW update, so the update count cannot exceed the step.
    state.step = integer_in(j, "step", 0, state.config.max_steps);
    state.optimizer_steps = integer_in(j, "optimizer_steps", 0, state.step);
    const auto& loader = j.at("train_loader");
    state.train_loader.epoch = integer_in(loader, "epoch", 0, INT64_MAX);
    state.train_loader.shard = integer_in(loader, "shard", 0, INT64_MAX);
    state.train_loader.position = integer_in(loader, "position", 0, INT64_MAX);
    // Written since data-parallel training; older checkpoints come from one process.
    const int64_t per_rank = int64_t(state.config.batch_size) * state.config.grad_accum;
    state.world_size = j.contains("world_size") ? int(integer_in(j, "world_size", 1, 1 << 20)) : 1;
    state.global_batch =
        j.contains("global_batch") ? integer_in(j, "global_batch", 1, INT64_MAX) : per_rank;
    check(state.global_batch == per_rank * state.world_size,
          "\"global_batch\" " + std::to_string(state.global_batch) +
              " is not world_size x batch_size x grad_accum = " +
              std::to_string(per_rank * state.world_size));
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed (" + e.what() + ")");
  } catch (const Error& e) { throw Error(path.string() + ": " + e.what()); }
}

namespace {

// Parameter-shaped values go into this rank's range of a flat optimizer buffer: read_into(views)
// fills named views of the whole buffer, read here directly or (ZeRO-1) into scratch first.
template <typename ReadInto> void load_shard(Backend& backend, const AdamW& optimizer,
                                             const GPTConfig& config, Tensor shard_tensor,
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

void load_weights_and_masters(const fs::path& dir, GPT& model, AdamW& optimizer, Muon* muon) {
  load_model_weights(dir, model);
  if (optimizer.master().empty()) return;
  // The f32 masters, exactly as saved (the bf16 weights are their rounding).
  const SafeTensorsShards weights = SafeTensorsShards::open_model(dir);
  Backend& backend = model.backend();
  load_shard(backend, optimizer, model.config(), optimizer.master(),
             [&](ParameterTensors& views) { import_hf_tensors(views, backend, weights); });
  if (!muon || !muon->has_master()) return;
  // Muon's masters of the hidden matrices, whole on every rank, from the same f32 values.
  FlatBuffer full(backend, backend.master_dtype(), parameter_arena_size(model.config()));
  ParameterTensors views = parameter_views(full.tensor, model.config());
  import_hf_tensors(views, backend, weights);
  muon->visit_master([&](const char* name, Tensor t) {
    views.visit([&](const char* n, Tensor& stored, Shape) {
      if (std::strcmp(n, name) == 0) backend.convert(t, stored);
    });
  });
}

TrainState load_training_checkpoint(const fs::path& dir, GPT& model, AdamW& optimizer, Muon* muon) {
  TrainState state = read_train_state(dir);
  load_weights_and_masters(dir, model, optimizer, muon);
  SafeTensorsFile moments(dir / "train_state.safetensors");
  Backend& backend = model.backend();
  const GPTConfig& config = model.config();
  load_shard(backend, optimizer, config, optimizer.m(),
             [&](ParameterTensors& views) { read_moments(moments, "m.", views, backend); });
  load_shard(backend, optimizer, config, optimizer.v(),
             [&](ParameterTensors& views) { read_moments(moments, "v.", views, backend); });
  if (muon) {
    muon->visit_momentum([&](const char* name, Tensor t) {
      std::vector<int64_t> dims(t.shape.dims.begin(), t.shape.dims.begin() + t.shape.rank);
      load_stored_tensor(backend, t, moments.stored(std::string("muon.") + name, dims),
                         /*transpose=*/false);
    });
  }
  optimizer.set_steps_taken(state.optimizer_steps);
  return state;
}

}  // namespace llm
