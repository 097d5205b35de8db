#include "llm/io/checkpoint.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/hf_llama.hpp"
#include "llm/io/json_file.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

// Hugging Face stores the attention and MLP weights as Conv1D, (in, out); we use (out, in).
bool is_conv1d(const std::string& name) {
  return name == "qkvw" || name == "attprojw" || name == "fcw" || name == "fcprojw";
}
bool is_per_layer(const std::string& name) {
  return name != "wte" && name != "wpe" && name != "lnfw" && name != "lnfb" && name != "lm_head";
}
// The tables of V real rows (plus Vp - V padding rows in memory, which the files leave out).
bool is_vocabulary_table(const std::string& name) { return name == "wte" || name == "lm_head"; }

// Visits every tensor as it is stored in HF files: (HF name, our tensor for that layer, our name).
template <typename Fn> void visit_hf(ParameterTensors& tensors, Fn&& fn) {
  const int L = tensors.config.n_layer;
  tensors.visit([&](const char* name_c, Tensor& t, Shape) {
    const std::string name = name_c;
    if (!is_per_layer(name)) {
      fn(hf_tensor_name(name, 0), t, name);
      return;
    }
    for (int l = 0; l < L; l++) fn(hf_tensor_name(name, l), t.slice(l), name);
  });
}

}  // namespace

std::string hf_tensor_name(const std::string& name, int layer) {
  if (name == "wte") return "transformer.wte.weight";
  if (name == "wpe") return "transformer.wpe.weight";
  if (name == "lnfw") return "transformer.ln_f.weight";
  if (name == "lnfb") return "transformer.ln_f.bias";
  if (name == "lm_head") return "lm_head.weight";  // an untied head, outside "transformer."
  const std::string h = "transformer.h." + std::to_string(layer) + ".";
  if (name == "ln1w") return h + "ln_1.weight";
  if (name == "ln1b") return h + "ln_1.bias";
  if (name == "qkvw") return h + "attn.c_attn.weight";
  if (name == "qkvb") return h + "attn.c_attn.bias";
  if (name == "qnormw") return h + "attn.q_norm.weight";  // Qwen3's names, under GPT-2's "attn."
  if (name == "knormw") return h + "attn.k_norm.weight";
  if (name == "attprojw") return h + "attn.c_proj.weight";
  if (name == "attprojb") return h + "attn.c_proj.bias";
  if (name == "ln2w") return h + "ln_2.weight";
  if (name == "ln2b") return h + "ln_2.bias";
  if (name == "fcw") return h + "mlp.c_fc.weight";
  if (name == "fcb") return h + "mlp.c_fc.bias";
  if (name == "fcprojw") return h + "mlp.c_proj.weight";
  if (name == "fcprojb") return h + "mlp.c_proj.bias";
  throw Error("hf_tensor_name: unknown parameter '" + name + "'");
}

std::vector<SafeTensorSource> hf_tensor_sources(ParameterTensors& tensors, Backend& backend) {
  std::vector<SafeTensorSource> out;
  const int64_t V = tensors.config.vocab_size;
  visit_hf(tensors, [&](const std::string& hf_name, Tensor t, const std::string& name) {
    // f64 tensors are stored as F64, the others as F32 (bf16 widened exactly).
    const DType file_dtype = t.dtype == DType::f64 ? DType::f64 : DType::f32;
    std::vector<int64_t> shape(t.shape.dims.begin(), t.shape.dims.begin() + t.shape.rank);
    if (is_vocabulary_table(name)) shape[0] = V;  // drop the padding rows: HF's wte is (V, C)
    const int64_t rows = shape[0], cols = shape.size() > 1 ? shape[1] : 1;
    const bool transpose = is_conv1d(name);
    if (transpose) std::swap(shape[0], shape[1]);
    out.push_back({hf_name, file_dtype == DType::f64 ? "F64" : "F32", shape,
                   [&backend, t, rows, cols, file_dtype, transpose](const ByteSink& sink) {
                     stream_tensor_values(backend, t, rows, cols, file_dtype, transpose, sink);
                   }});
  });
  return out;
}

std::vector<SafeTensorOut> export_hf_tensors(ParameterTensors& tensors, Backend& backend) {
  std::vector<SafeTensorOut> out;
  for (const SafeTensorSource& source : hf_tensor_sources(tensors, backend))
    out.push_back(gather_bytes(source));
  return out;
}

namespace {

// Hugging Face names GPT-2's tensors "transformer.h.0.attn.c_attn.weight" in GPT2LMHeadModel's
// state dict (and glassbox writes that), but "h.0.attn.c_attn.weight" in GPT2Model's, which is what
// the official gpt2 repository's model.safetensors holds. Returns "transformer." or "".
std::string hf_prefix(const SafeTensorsShards& file) {
  if (file.contains("transformer.wte.weight")) return "transformer.";
  if (file.contains("wte.weight")) return "";
  throw Error("safetensors file " + file.path().string() +
              ": no tensor 'wte.weight' or 'transformer.wte.weight' (not a GPT-2 checkpoint?)");
}

}  // namespace

void import_hf_tensors(ParameterTensors& tensors, Backend& backend, const SafeTensorsShards& file) {
  if (is_llama_file(file)) return import_llama_tensors(tensors, backend, file);
  // Other tensors in the file are ignored: HF's attn.bias / attn.masked_bias are the causal mask
  // buffers, not weights. A stored lm_head.weight must be the tied wte (checked below) unless the
  // config unties the head (tie_embeddings false), when it is the model's lm_head.
  const std::string prefix = hf_prefix(file);
  const int64_t V = tensors.config.vocab_size, C = tensors.config.n_embd;
  visit_hf(tensors, [&](const std::string& full_name, Tensor t, const std::string& name) {
    const std::string hf_name = name == "lm_head"
                                    ? full_name
                                    : prefix + full_name.substr(std::string("transformer.").size());
    std::vector<int64_t> shape(t.shape.dims.begin(), t.shape.dims.begin() + t.shape.rank);
    if (is_vocabulary_table(name)) shape[0] = V;  // the padding rows V..Vp are set to 0
    if (is_conv1d(name)) std::swap(shape[0], shape[1]);
    load_stored_tensor(backend, t, file.stored(hf_name, shape), /*transpose=*/is_conv1d(name));
  });
  if (tensors.config.tie_embeddings && file.contains("lm_head.weight")) {
    const bool tied =
        file.read_f32("lm_head.weight", {V, C}) == file.read_f32(prefix + "wte.weight", {V, C});
    check(tied,
          "safetensors file " + file.path().string() +
              ": lm_head.weight differs from wte.weight; glassbox ties the output head to the "
              "token embedding and cannot load an untied head");
  }
}

void write_model_config(const fs::path& path, const GPTConfig& c) {
  // A Llama-style model is written as transformers' LlamaForCausalLM (llm/io/hf_llama.hpp).
  nlohmann::json j =
      is_llama_architecture(c)
          ? llama_config_json(c)
          : nlohmann::json{
                {"architectures", {"GPT2LMHeadModel"}},
                {"model_type", "gpt2"},
                {"n_layer", c.n_layer},
                {"n_head", c.n_head},
                {"n_embd", c.n_embd},
                {"n_positions", c.max_seq_len},
                {"n_ctx", c.max_seq_len},
                {"vocab_size", c.vocab_size},
                {"padded_vocab_size", c.padded_vocab_size()},  // glassbox's own key; HF ignores it
                {"layer_norm_epsilon", 1e-5},
                {"activation_function", "gelu_new"},  // HF's name for the tanh approximation
                {"initializer_range", 0.02},
                {"resid_pdrop", 0.0},
                {"embd_pdrop", 0.0},
                {"attn_pdrop", 0.0},
                {"tie_word_embeddings", c.tie_embeddings},
                {"torch_dtype", "float32"},
            };
  if (!c.is_gpt2_architecture() && !is_llama_architecture(c)) {
    // glassbox's own keys for the architecture switches (llm/model/config.hpp), only where they
    // leave GPT-2, so a GPT-2 config.json stays what transformers' GPT2LMHeadModel reads. Such a
    // model is no GPT-2: its model_type says so, and transformers refuses it rather than loading
    // it wrongly (this file is glassbox's own layout, for the mixes LlamaForCausalLM cannot hold).
    j["model_type"] = "glassbox";
    j["architectures"] = {"GlassboxDecoder"};
    j["norm"] = c.norm;
    j["norm_eps"] = c.norm_eps;
    j["position"] = c.position;
    j["rope_theta"] = c.rope_frequencies.theta;
    j["rope_scaling"] = rope_scaling_json(c.rope_frequencies);
    j["mlp"] = c.mlp;
    j["mlp_hidden"] = c.hidden_size();
    j["n_kv_head"] = c.kv_heads();
    j["bias"] = c.bias;
    j["qk_norm"] = c.qk_norm;
  }
  std::ofstream out(path);
  check(bool(out), "cannot write " + path.string());
  out << j.dump(2) << "\n";
  check(bool(out), "cannot write " + path.string());
}

GPTConfig read_model_config(const fs::path& path) {
  const nlohmann::json j = read_json_file(path, "(is this a checkpoint directory?)");
  check(j.is_object(), path.string() + ": expected a JSON object");
  if (j.contains("model_type")) {
    const nlohmann::json& type = j["model_type"];
    if (type == "llama") return llama_config_from_json(j, path.string());
    check(type == "gpt2" || type == "glassbox",
          path.string() + ": \"model_type\" is " + type.dump() +
              ", expected \"gpt2\", \"llama\" or \"glassbox\"");
  }
  // Every size is a positive int: 4294967298 must not become 2 on the way into one.
  auto get_int = [&](const char* key) -> int {
    check(j.contains(key) && j[key].is_number_integer(),
          path.string() + ": missing integer key \"" + key + "\"");
    const nlohmann::json& v = j[key];
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                             : v.get<int64_t>() >= 1 && v.get<int64_t>() <= INT_MAX;
    check(fits, path.string() + ": \"" + key + "\" is " + v.dump() +
                    ", expected an integer in [1, " + std::to_string(INT_MAX) + "]");
    return v.get<int>();
  };
  GPTConfig c;
  c.n_layer = get_int("n_layer");
  c.n_head = get_int("n_head");
  c.n_embd = get_int("n_embd");
  c.max_seq_len = j.contains("n_positions") ? get_int("n_positions") : get_int("n_ctx");
  c.vocab_size = get_int("vocab_size");
  // Vp is derived from V; a stored copy (glassbox writes one for readers of the file) must agree.
  if (j.contains("padded_vocab_size"))
    check_stored_padded_vocab_size(c, get_int("padded_vocab_size"), path.string());
  // The architecture switches: absent keys keep GPT-2's values.
  auto get_string = [&](const char* key, std::string& value) {
    if (!j.contains(key)) return;
    check(j[key].is_string(), path.string() + ": \"" + key + "\" must be a string");
    value = j[key].get<std::string>();
  };
  auto get_number = [&](const char* key, double& value) {
    if (!j.contains(key)) return;
    check(j[key].is_number(), path.string() + ": \"" + key + "\" must be a number");
    value = j[key].get<double>();
  };
  auto get_bool = [&](const char* key, bool& value) {
    if (!j.contains(key)) return;
    check(j[key].is_boolean(), path.string() + ": \"" + key + "\" must be true or false");
    value = j[key].get<bool>();
  };
  get_string("norm", c.norm);
  get_number("norm_eps", c.norm_eps);
  get_string("position", c.position);
  get_number("rope_theta", c.rope_frequencies.theta);
  read_rope_scaling(j, c.rope_frequencies, path.string());
  get_string("mlp", c.mlp);
  if (j.contains("mlp_hidden")) c.mlp_hidden = get_int("mlp_hidden");
  if (j.contains("n_kv_head")) c.n_kv_head = get_int("n_kv_head");
  get_bool("tie_word_embeddings", c.tie_embeddings);
  get_bool("bias", c.bias);
  get_bool("qk_norm", c.qk_norm);
  try {
    c.validate();
  } catch (const Error& e) { throw Error(path.string() + ": " + e.what()); }
  return c;
}

void write_directory_atomically(const fs::path& dir,
                                const std::function<void(const fs::path&)>& fill) {
  const fs::path tmp = dir.string() + ".tmp";
  const fs::path old = dir.string() + ".old";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fill(tmp);
  // Swap in: dir -> dir.old, tmp -> dir, then drop dir.old. A crash in between leaves either the
  // old or the new directory complete (and load_* below says so if only dir.old remains).
  fs::remove_all(old);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old);
}

std::string recover_interrupted_save(const fs::path& dir) {
  const fs::path tmp = dir.string() + ".tmp";
  const fs::path old = dir.string() + ".old";
  if (fs::exists(dir) || !fs::is_directory(old)) return "";
  if (fs::is_directory(tmp)) {
    fs::rename(tmp, dir);
    fs::remove_all(old);
    return "a save was interrupted between its renames: " + tmp.string() + " (complete) is now " +
           dir.string() + ", " + old.string() + " (the previous checkpoint) was removed";
  }
  fs::rename(old, dir);
  return "a save was interrupted between its renames: " + old.string() +
         " (the previous checkpoint) is " + dir.string() + " again";
}

void write_model_files(const fs::path& dir, ParameterTensors& weights, Backend& backend,
                       const Tokenizer* tokenizer) {
  write_model_config(dir / "config.json", weights.config);
  const GPTConfig& c = weights.config;
  write_safetensors(dir / "model.safetensors",
                    is_llama_architecture(c) ? llama_tensor_sources(weights, backend)
                                             : hf_tensor_sources(weights, backend),
                    {{"format", "pt"}});
  if (tokenizer) tokenizer->save(dir);
}

void save_model_checkpoint(const fs::path& dir, GPT& model, const Tokenizer* tokenizer) {
  write_directory_atomically(dir, [&](const fs::path& tmp) {
    write_model_files(tmp, model.params, model.backend(), tokenizer);
  });
}

GPTConfig read_checkpoint_config(const fs::path& dir) {
  if (!fs::is_directory(dir) && fs::is_directory(dir.string() + ".old"))
    throw Error(dir.string() + ": missing, but " + dir.string() +
                ".old exists (a save was interrupted: `glassbox train --resume` recovers a run's "
                "checkpoint; elsewhere rename it back)");
  check(fs::is_directory(dir), dir.string() + ": no such checkpoint directory");
  return read_model_config(dir / "config.json");
}

void load_model_weights(const fs::path& dir, GPT& model) {
  if (!fs::exists(dir / "model.safetensors") && !fs::exists(dir / "model.safetensors.index.json") &&
      fs::exists(dir / "pytorch_model.bin"))
    throw Error((dir / "model.safetensors").string() +
                ": missing (only pytorch_model.bin is there; glassbox reads safetensors only)");
  import_hf_tensors(model.params, model.backend(), SafeTensorsShards::open_model(dir));
}

std::string describe_load(const fs::path& dir, double seconds) {
  std::error_code ec;
  fs::path file = dir / "model.safetensors";
  double mb = double(fs::file_size(file, ec)) / 1e6;
  if (fs::exists(dir / "model.safetensors.index.json", ec)) {
    const SafeTensorsShards shards = SafeTensorsShards::open_model(dir);
    file = shards.path();
    mb = 0;
    for (const fs::path& shard : shards.files()) mb += double(fs::file_size(shard, ec)) / 1e6;
  }
  char text[160];
  std::snprintf(text, sizeof text, ": %.0f MB in %.2f s (%.0f MB/s)", ec ? 0.0 : mb, seconds,
                seconds > 0 && !ec ? mb / seconds : 0.0);
  return "loaded " + file.string() + text;
}

}  // namespace llm
