#include "llm/io/hf_llama.hpp"

#include <algorithm>
#include <climits>

#include "llm/core/error.hpp"
#include "llm/io/stored_tensor.hpp"
#include "llm/io/tensor_stream.hpp"

namespace llm {

namespace {

// Rows [begin, begin + count) of a row-major (R, K) tensor: a (count, K) view of the same memory.
Tensor row_range(const Tensor& t, int64_t begin, int64_t count) {
  Tensor rows = t;
  rows.shape = Shape{count, t.last_dim()};
  rows.data = static_cast<char*>(t.data) + size_t(begin * t.last_dim()) * dtype_size(t.dtype);
  return rows;
}

// One tensor of the file: its HF name, the part of our arena it is, and its shape in the file. The
// part may hold more than the file (wte's padding rows V..Vp, which the file leaves out).
struct LlamaTensor {
  std::string name;
  Tensor part;
  std::vector<int64_t> file_shape;
};

// Every tensor of LlamaForCausalLM for the parameters `p` (see the table in hf_llama.hpp).
std::vector<LlamaTensor> llama_tensors(const ParameterTensors& p) {
  const GPTConfig& c = p.config;
  const int64_t V = c.vocab_size, C = c.n_embd, H = c.hidden_size();
  const int64_t Q = int64_t(c.n_head) * c.head_size(), KV = int64_t(c.kv_heads()) * c.head_size();
  std::vector<LlamaTensor> out;
  out.push_back({"model.embed_tokens.weight", p.wte, {V, C}});
  for (int l = 0; l < c.n_layer; l++) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
    const Tensor qkv = p.qkvw.slice(l), fc = p.fcw.slice(l);  // (QKV, C), (2H, C)
    out.push_back({layer + "input_layernorm.weight", p.ln1w.slice(l), {C}});
    out.push_back({layer + "self_attn.q_proj.weight", row_range(qkv, 0, Q), {Q, C}});
    out.push_back({layer + "self_attn.k_proj.weight", row_range(qkv, Q, KV), {KV, C}});
    out.push_back({layer + "self_attn.v_proj.weight", row_range(qkv, Q + KV, KV), {KV, C}});
    out.push_back({layer + "self_attn.o_proj.weight", p.attprojw.slice(l), {C, C}});
    out.push_back({layer + "post_attention_layernorm.weight", p.ln2w.slice(l), {C}});
    out.push_back({layer + "mlp.gate_proj.weight", row_range(fc, 0, H), {H, C}});
    out.push_back({layer + "mlp.up_proj.weight", row_range(fc, H, H), {H, C}});
    out.push_back({layer + "mlp.down_proj.weight", p.fcprojw.slice(l), {C, H}});
  }
  out.push_back({"model.norm.weight", p.lnfw, {C}});
  if (!c.tie_embeddings) out.push_back({"lm_head.weight", p.lm_head, {V, C}});
  return out;
}

}  // namespace

bool is_llama_architecture(const GPTConfig& c) {
  return c.rmsnorm() && c.rope() && c.swiglu() && !c.bias && !c.qk_norm;
}

bool is_llama_file(const SafeTensorsShards& file) {
  return file.contains("model.embed_tokens.weight");
}

nlohmann::json rope_scaling_json(const RopeFrequencies& f) {
  if (!f.llama3) return nullptr;
  return {{"rope_type", "llama3"},
          {"factor", f.factor},
          {"low_freq_factor", f.low_freq_factor},
          {"high_freq_factor", f.high_freq_factor},
          {"original_max_position_embeddings", f.original_max_position_embeddings}};
}

void read_rope_scaling(const nlohmann::json& config, RopeFrequencies& f, const std::string& where) {
  if (!config.contains("rope_scaling") || config["rope_scaling"].is_null()) return;
  const nlohmann::json& s = config["rope_scaling"];
  check(s.is_object(), where + ": \"rope_scaling\" must be an object or null");
  const char* type_key = s.contains("rope_type") ? "rope_type" : "type";
  const std::string type =
      s.contains(type_key) && s[type_key].is_string() ? s[type_key].get<std::string>() : "";
  if (type == "default") return;
  check(type == "llama3",
        where + ": \"rope_scaling\" has type \"" + type + "\": only llama3 is supported");
  auto number = [&](const char* key) {
    check(s.contains(key) && s[key].is_number(),
          where + ": \"rope_scaling\" of type llama3 needs the number \"" + key + "\"");
    return s[key].get<double>();
  };
  f.llama3 = true;
  f.factor = number("factor");
  f.low_freq_factor = number("low_freq_factor");
  f.high_freq_factor = number("high_freq_factor");
  const double original = number("original_max_position_embeddings");
  check(original >= 1 && original <= INT_MAX && original == double(int64_t(original)),
        where + ": \"rope_scaling.original_max_position_embeddings\" must be a positive integer");
  f.original_max_position_embeddings = int(original);
}

nlohmann::json llama_config_json(const GPTConfig& c) {
  check(is_llama_architecture(c),
        "llama_config_json: the model is not a Llama architecture "
        "(it needs rmsnorm, rope, swiglu and no biases)");
  const RopeFrequencies& f = c.rope_frequencies;
  return {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", c.n_embd},
      {"intermediate_size", c.hidden_size()},
      {"num_hidden_layers", c.n_layer},
      {"num_attention_heads", c.n_head},
      {"num_key_value_heads", c.kv_heads()},
      {"head_dim", c.head_size()},
      {"hidden_act", "silu"},
      {"max_position_embeddings", c.max_seq_len},
      {"rms_norm_eps", c.norm_eps},
      {"rope_theta", f.theta},
      {"rope_scaling", rope_scaling_json(f)},
      {"tie_word_embeddings", c.tie_embeddings},
      {"vocab_size", c.vocab_size},
      {"padded_vocab_size", c.padded_vocab_size()},  // glassbox's own key; transformers ignores it
      {"attention_bias", false},
      {"mlp_bias", false},
      {"attention_dropout", 0.0},
      {"initializer_range", 0.02},
      {"torch_dtype", "float32"},
  };
}

GPTConfig llama_config_from_json(const nlohmann::json& j, const std::string& where) {
  check(j.is_object(), where + ": expected a JSON object");
  auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  // Every size is a positive int: 4294967298 must not become 2 on the way into one.
  auto get_int = [&](const nlohmann::json& v, const std::string& key) -> int {
    check(v.is_number_integer(), where + ": \"" + key + "\" must be an integer");
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                             : v.get<int64_t>() >= 1 && v.get<int64_t>() <= INT_MAX;
    check(fits, where + ": \"" + key + "\" is " + v.dump() + ", expected an integer in [1, " +
                    std::to_string(INT_MAX) + "]");
    return v.get<int>();
  };
  auto required_int = [&](const char* key) {
    check(present(key), where + ": missing integer key \"" + std::string(key) + "\"");
    return get_int(j[key], key);
  };
  auto number = [&](const nlohmann::json& v, const std::string& key) {
    check(v.is_number(), where + ": \"" + key + "\" must be a number");
    return v.get<double>();
  };
  auto flag = [&](const char* key, bool fallback) {
    if (!present(key)) return fallback;
    check(j[key].is_boolean(), where + ": \"" + std::string(key) + "\" must be true or false");
    return j[key].get<bool>();
  };
  auto unsupported = [&](const std::string& field, const std::string& why) {
    throw Error(where + ": \"" + field + "\" " + why);
  };

  if (present("architectures")) {
    const nlohmann::json& a = j["architectures"];
    const bool llama = a.is_array() && std::find(a.begin(), a.end(), "LlamaForCausalLM") != a.end();
    if (!llama)
      unsupported("architectures", "is " + a.dump() + ", expected [\"LlamaForCausalLM\"]");
  }
  GPTConfig c;
  c.norm = "rmsnorm";
  c.position = "rope";
  c.mlp = "swiglu";
  c.bias = false;
  c.n_embd = required_int("hidden_size");
  c.mlp_hidden = required_int("intermediate_size");
  c.n_layer = required_int("num_hidden_layers");
  c.n_head = required_int("num_attention_heads");
  c.vocab_size = required_int("vocab_size");
  // transformers' LlamaConfig defaults for the optional keys
  c.n_kv_head = present("num_key_value_heads") ? required_int("num_key_value_heads") : c.n_head;
  c.max_seq_len =
      present("max_position_embeddings") ? required_int("max_position_embeddings") : 2048;
  if (present("padded_vocab_size"))
    check_stored_padded_vocab_size(c, required_int("padded_vocab_size"), where);
  c.norm_eps = present("rms_norm_eps") ? number(j["rms_norm_eps"], "rms_norm_eps") : 1e-6;
  c.tie_embeddings = flag("tie_word_embeddings", false);
  RopeFrequencies& f = c.rope_frequencies;
  f.theta = present("rope_theta") ? number(j["rope_theta"], "rope_theta") : 10000.0;

  // What the model cannot do is refused by name.
  if (present("hidden_act") && j["hidden_act"] != "silu")
    unsupported("hidden_act", "is " + j["hidden_act"].dump() + ", only \"silu\" is supported");
  if (flag("attention_bias", false))
    unsupported("attention_bias", "is true: biased attention projections are not supported");
  if (flag("mlp_bias", false))
    unsupported("mlp_bias", "is true: biased MLP projections are not supported");
  if (present("sliding_window"))
    unsupported("sliding_window", "is set: sliding-window attention is not supported");
  if (flag("rope_interleaved", false))
    unsupported("rope_interleaved", "is true: only rotate-half RoPE is supported");
  if (present("head_dim") && c.n_embd % c.n_head == 0 &&
      get_int(j["head_dim"], "head_dim") != c.n_embd / c.n_head)
    unsupported("head_dim", "is " + j["head_dim"].dump() +
                                ": only hidden_size / num_attention_heads (" +
                                std::to_string(c.n_embd / c.n_head) + ") is supported");
  read_rope_scaling(j, f, where);
  try {
    c.validate();
  } catch (const Error& e) { throw Error(where + ": " + e.what()); }
  return c;
}

std::vector<SafeTensorSource> llama_tensor_sources(ParameterTensors& tensors, Backend& backend) {
  std::vector<SafeTensorSource> out;
  for (const LlamaTensor& t : llama_tensors(tensors)) {
    // f64 tensors are stored as F64, the others as F32 (bf16 widened exactly).
    const DType file_dtype = t.part.dtype == DType::f64 ? DType::f64 : DType::f32;
    const int64_t rows = t.file_shape[0], cols = t.file_shape.size() > 1 ? t.file_shape[1] : 1;
    out.push_back({t.name, file_dtype == DType::f64 ? "F64" : "F32", t.file_shape,
                   [&backend, part = t.part, rows, cols, file_dtype](const ByteSink& sink) {
                     stream_tensor_values(backend, part, rows, cols, file_dtype,
                                          /*transpose=*/false, sink);
                   }});
  }
  return out;
}

void import_llama_tensors(ParameterTensors& tensors, Backend& backend,
                          const SafeTensorsShards& file) {
  const GPTConfig& c = tensors.config;
  check(is_llama_architecture(c),
        "safetensors file " + file.path().string() +
            " holds LlamaForCausalLM tensors, but the model is not a Llama architecture (it needs "
            "rmsnorm, rope, swiglu and no biases)");
  for (const LlamaTensor& t : llama_tensors(tensors))
    load_stored_tensor(backend, t.part, file.stored(t.name, t.file_shape), /*transpose=*/false);
  if (c.tie_embeddings && file.contains("lm_head.weight")) {
    const std::vector<int64_t> shape = {c.vocab_size, c.n_embd};
    check(
        file.read_f32("lm_head.weight", shape) == file.read_f32("model.embed_tokens.weight", shape),
        "safetensors file " + file.path().string() +
            ": lm_head.weight differs from model.embed_tokens.weight, but config.json ties "
            "them (tie_word_embeddings)");
  }
}

}  // namespace llm
