// crosscheck_driver: glassbox's half of the PyTorch cross-check (tests/reference/crosscheck.py).
//
//   crosscheck_driver --out DIR [--dtype f32|f64] [--steps 10] [--arch gpt2] [--init-from CKPT_DIR]
//                     [--optimizer adamw|muon]
//
// Builds a tiny GPT-2 on the CPU backend (L=2, NH=2, C=32, maxT=16, V=67 padded to Vp=128), with
// --arch one architecture switch turned (rmsnorm, rope, swiglu, relu2, gqa, untied, nobias) or all
// of them (llama, see tiny_config), or loads the config and weights of CKPT_DIR (a checkpoint the
// Python side wrote: the import direction), runs one batch (B=3, T=11) and writes into DIR:
//   ckpt/                     save_model_checkpoint: config.json + model.safetensors (HF names)
//   io.safetensors            tokens, targets (B, T) i32; logits (B, T, Vp) in the backend's dtype;
//                             loss: the mean of acts.losses summed in double; loss_returned: what
//                             GPT::forward returned (a float); step_losses (steps + 1): the loss
//                             before each AdamW step on the same batch, then the loss after the
//                             last step
//   grads.safetensors         export_hf_tensors(model.grads): HF names and layout
//   grads_raw.safetensors     the gradients under glassbox names and layout, in the backend's dtype
//   params_raw.safetensors    the starting weights under glassbox names, in the backend's dtype
//   params_after.safetensors  the weights after the AdamW steps
// The Python side loads the checkpoint into an independent PyTorch model and compares everything.
//
// --optimizer muon takes the steps with glassbox's own optimizers instead (tests/reference/
// muon_check.py): llm::Muon (momentum 0.95, 5 Newton-Schulz steps, lr 0.02) on the hidden matrices
// and llm::AdamW (betas 0.9, 0.95, eps 1e-8, weight decay 0.1 on wte and wpe) at lr 3e-3 on the
// embeddings and 2e-3 on the gains and biases, every gradient scaled by 0.5 first (as global-norm
// clipping scales it).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/core/arena.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/safetensors.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/optimizer.hpp"

namespace fs = std::filesystem;
using namespace llm;

namespace {

// A tensor of the backend's dtype (f32 or f64) as host doubles, and back.
std::vector<double> to_host(Backend& backend, Tensor t) {
  std::vector<double> out(t.numel());
  if (t.dtype == DType::f64) {
    backend.copy_to_host(out.data(), t);
  } else {
    std::vector<float> f(t.numel());
    backend.copy_to_host(f.data(), t);
    for (size_t i = 0; i < f.size(); i++) out[i] = f[i];
  }
  return out;
}

void from_host(Backend& backend, Tensor t, const std::vector<double>& values) {
  if (t.dtype == DType::f64) {
    backend.copy_from_host(t, values.data());
  } else {
    std::vector<float> f(values.begin(), values.end());
    backend.copy_from_host(t, f.data());
  }
}

std::vector<int64_t> dims(const Shape& s) { return {s.dims.begin(), s.dims.begin() + s.rank}; }

// One tensor in its own dtype (F32 or F64), so the f64 run keeps every digit.
SafeTensorOut as_safetensor(const std::string& name, Backend& backend, Tensor t) {
  const std::vector<double> values = to_host(backend, t);
  if (t.dtype == DType::f64) return safetensor_f64(name, dims(t.shape), values.data());
  const std::vector<float> f(values.begin(), values.end());
  return safetensor_f32(name, dims(t.shape), f.data());
}

SafeTensorOut i32_tensor(const std::string& name, std::vector<int64_t> shape,
                         const std::vector<int32_t>& v) {
  SafeTensorOut out{name, "I32", std::move(shape), {}};
  out.bytes.resize(v.size() * sizeof(int32_t));
  std::memcpy(out.bytes.data(), v.data(), out.bytes.size());
  return out;
}

std::vector<SafeTensorOut> raw_tensors(ParameterTensors& tensors, Backend& backend) {
  std::vector<SafeTensorOut> out;
  tensors.visit(
      [&](const char* name, Tensor& t, Shape) { out.push_back(as_safetensor(name, backend, t)); });
  return out;
}

// The mean of acts.losses (B, T), summed in double: in the f64 run this keeps the digits that
// GPT::forward's float return value rounds away.
double mean_loss(GPT& model) {
  const std::vector<double> losses = to_host(model.backend(), model.acts.losses);
  double sum = 0;
  for (double v : losses) sum += v;
  return sum / double(losses.size());
}

// Makes the starting point a sharper test than GPT-2's initialisation, where every bias is 0, every
// gain 1 and the weights so small that softmax and GELU are nearly linear: 2-D weights x 5, biases
// ~ N(0, 0.1), gains ~ 1 + N(0, 0.1). Every value is then rounded to f32, so the checkpoint (f32 on
// disk in the f32 run) holds exactly the model's weights in either precision. Padded wte rows stay
// 0.
void perturb_and_round(GPT& model, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 0.1);
  const GPTConfig& c = model.config();
  model.params.visit([&](const char* name_c, Tensor& t, Shape, TensorKind kind) {
    const std::string name = name_c;
    std::vector<double> values = to_host(model.backend(), t);
    const bool gain = kind == TensorKind::gain;
    for (size_t i = 0; i < values.size(); i++) {
      if (is_decayed(kind)) {
        values[i] *= 5.0;
      } else {
        values[i] = (gain ? 1.0 : 0.0) + normal(rng);
      }
      values[i] = double(float(values[i]));
    }
    if (name == "wte" || name == "lm_head")
      for (size_t i = size_t(c.vocab_size) * c.n_embd; i < values.size(); i++) values[i] = 0.0;
    from_host(model.backend(), t, values);
  });
}

// The optimizer state: m and v, one arena each, carved from the same size table as the weights.
struct Moments {
  ParameterTensors m, v;
  Arena m_memory, v_memory;
  Moments(const GPTConfig& config, Backend& backend) {
    m.config = config;
    v.config = config;
    m_memory.carve(backend, backend.master_dtype(), m);
    v_memory.carve(backend, backend.master_dtype(), v);
  }
};

// One AdamW step over every parameter tensor (weight decay on the 2-D weights only, no clipping).
void adamw_step(GPT& model, Moments& moments, int64_t step, float lr, float weight_decay) {
  std::vector<std::pair<std::string, Tensor>> params;
  std::vector<Tensor> grads, ms, vs;
  model.params.visit([&](const char* name, Tensor& t, Shape) { params.emplace_back(name, t); });
  model.grads.visit([&](const char*, Tensor& t, Shape) { grads.push_back(t); });
  moments.m.visit([&](const char*, Tensor& t, Shape) { ms.push_back(t); });
  moments.v.visit([&](const char*, Tensor& t, Shape) { vs.push_back(t); });
  for (size_t i = 0; i < params.size(); i++) {
    AdamWSettings s;
    s.learning_rate = lr;
    s.beta1 = 0.9f;
    s.beta2 = 0.95f;
    s.eps = 1e-8f;
    s.weight_decay = is_decayed(params[i].first.c_str()) ? weight_decay : 0.0f;
    s.step = step;
    model.backend().adamw_update(params[i].second, grads[i], ms[i], vs[i], Tensor{}, s, 1.0f);
  }
}

// The learning rate of each AdamW group under Muon, and Muon's (see the header comment).
constexpr float kEmbeddingLr = 3e-3f, kGainBiasLr = 2e-3f, kMuonLr = 0.02f, kGradScale = 0.5f;

// The tiny model of each --arch: GPT-2, or GPT-2 with one architecture switch turned, or all of
// them at once ("llama": rmsnorm, rope, swiglu, multi-query attention, untied head, no biases);
// "qknorm" is QK-norm with rope (the order of the two is what it checks).
GPTConfig tiny_config(const std::string& arch) {
  GPTConfig config;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_embd = 32;
  config.max_seq_len = 16;
  config.vocab_size = 67;
  const bool all = arch == "llama";
  if (arch == "rmsnorm" || all) config.norm = "rmsnorm", config.norm_eps = 1e-6;
  if (arch == "rope" || all) config.position = "rope", config.rope_frequencies.theta = 500.0;
  if (arch == "swiglu" || all) config.mlp = "swiglu", config.mlp_hidden = 48;
  if (arch == "relu2") config.mlp = "relu2";
  if (arch == "gqa") config.n_head = 4, config.n_kv_head = 2;
  if (all) config.n_head = 4, config.n_kv_head = 1;
  if (arch == "untied" || all) config.tie_embeddings = false;
  if (arch == "nobias" || all) config.bias = false;
  // qk_norm comes with rope: the order of the two (normalise, then rotate) is part of the switch
  if (arch == "qknorm")
    config.qk_norm = true, config.position = "rope", config.rope_frequencies.theta = 500.0;
  check(
      arch == "gpt2" || all || !config.is_gpt2_architecture(),
      "crosscheck_driver: --arch must be gpt2, rmsnorm, rope, swiglu, relu2, gqa, untied, nobias, "
      "qknorm or llama (got '" +
          arch + "')");
  return config;
}

int run(const fs::path& out, DType dtype, int steps, const fs::path& init_from,
        const std::string& arch, const std::string& optimizer) {
  GPTConfig config = tiny_config(arch);
  if (!init_from.empty()) config = read_checkpoint_config(init_from);
  const int B = 3, T = 11;

  std::unique_ptr<Backend> backend = make_cpu_backend(dtype);
  GPT model(config, *backend);
  if (init_from.empty()) {
    model.init_weights(1234);
    perturb_and_round(model, 5678);
  } else {
    load_model_weights(init_from, model);
  }

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> token(0, config.vocab_size - 1);
  std::vector<int32_t> tokens(B * T), targets(B * T);
  for (auto& t : tokens) t = token(rng);
  for (auto& t : targets) t = token(rng);

  fs::create_directories(out);
  save_model_checkpoint(out / "ckpt", model, nullptr);
  write_safetensors(out / "params_raw.safetensors", raw_tensors(model.params, *backend));

  // Forward alone for the logits (forward_backward overwrites them with dlogits).
  const float loss_returned = model.forward(tokens.data(), targets.data(), B, T);
  const double loss = mean_loss(model);
  SafeTensorOut logits = as_safetensor("logits", *backend, model.acts.logits);

  model.zero_grad();
  model.forward_backward(tokens.data(), targets.data(), B, T);
  write_safetensors(out / "grads.safetensors", export_hf_tensors(model.grads, *backend));
  write_safetensors(out / "grads_raw.safetensors", raw_tensors(model.grads, *backend));

  // AdamW (or Muon) on the same batch: the loss before each step, then after the last.
  Moments moments(config, *backend);
  AdamW adamw(model, {0.9f, 0.95f, 1e-8f, 0.1f}, {0, parameter_arena_size(config)},
              adamw_groups_beside_muon(kEmbeddingLr, kGainBiasLr));
  Muon muon(model, {0.95f, 5});
  std::vector<double> step_losses;
  for (int step = 1; step <= steps; step++) {
    model.zero_grad();
    model.forward_backward(tokens.data(), targets.data(), B, T);
    step_losses.push_back(mean_loss(model));
    if (optimizer == "muon") {
      adamw.step(1.0f, kGradScale);  // lr 1 x each group's rate
      muon.step(kMuonLr, kGradScale);
    } else {
      adamw_step(model, moments, step, 1e-3f, 0.1f);
    }
  }
  model.forward(tokens.data(), targets.data(), B, T);
  step_losses.push_back(mean_loss(model));
  write_safetensors(out / "params_after.safetensors", raw_tensors(model.params, *backend));

  const double loss_returned_d = loss_returned;
  write_safetensors(
      out / "io.safetensors",
      {i32_tensor("tokens", {B, T}, tokens), i32_tensor("targets", {B, T}, targets), logits,
       safetensor_f64("loss", {1}, &loss), safetensor_f64("loss_returned", {1}, &loss_returned_d),
       safetensor_f64("step_losses", {int64_t(step_losses.size())}, step_losses.data())});
  std::printf("crosscheck_driver (%s): loss %.10f, after %d %s steps %.10f; wrote %s\n",
              dtype_name(dtype), loss, steps, optimizer.c_str(), step_losses.back(),
              out.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out, init_from;
  std::string arch = "gpt2";
  DType dtype = DType::f32;
  int steps = 10;
  std::string optimizer = "adamw";
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--out" && has_value) {
      out = argv[++i];
    } else if (arg == "--dtype" && has_value) {
      const std::string d = argv[++i];
      if (d != "f32" && d != "f64") {
        std::fprintf(stderr, "crosscheck_driver: --dtype must be f32 or f64, not '%s'\n",
                     d.c_str());
        return 2;
      }
      dtype = d == "f64" ? DType::f64 : DType::f32;
    } else if (arg == "--arch" && has_value) {
      arch = argv[++i];
    } else if (arg == "--init-from" && has_value) {
      init_from = argv[++i];
    } else if (arg == "--optimizer" && has_value) {
      optimizer = argv[++i];
      if (optimizer != "adamw" && optimizer != "muon") {
        std::fprintf(stderr, "crosscheck_driver: --optimizer must be adamw or muon, not '%s'\n",
                     optimizer.c_str());
        return 2;
      }
    } else if (arg == "--steps" && has_value) {
      steps = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: crosscheck_driver --out DIR [--dtype f32|f64] [--steps N] [--arch A] "
                   "[--init-from CKPT_DIR] [--optimizer adamw|muon]\n");
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr,
                 "usage: crosscheck_driver --out DIR [--dtype f32|f64] [--steps N] [--arch A] "
                 "[--init-from CKPT_DIR] [--optimizer adamw|muon]\n");
    return 2;
  }
  try {
    return run(out, dtype, steps, init_from, arch, optimizer);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crosscheck_driver: error: %s\n", e.what());
    return 1;
  }
}
