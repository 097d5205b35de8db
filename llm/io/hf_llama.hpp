#pragma once
// defines: the Hugging Face Llama layout: a Llama-style model as the directory transformers'
//          LlamaForCausalLM reads (config.json + model.safetensors), in and out.
//
// A model whose switches are all Llama's (rmsnorm, rope, swiglu, no biases; any number of key/value
// heads, tied or untied head) is saved in this layout, and such a directory from the Hugging Face
// hub (SmolLM2, Llama 3.x, TinyLlama, ...) loads as it is. Tensors, for layer N, in nn.Linear's
// (out, in) layout, so nothing is transposed:
//   model.embed_tokens.weight                   (V, C)      wte, without the padding rows
//   model.layers.N.input_layernorm.weight       (C)         ln1w
//   model.layers.N.self_attn.q_proj.weight      (NH hs, C)  rows [0, NH hs) of qkvw
//   model.layers.N.self_attn.k_proj.weight      (NKV hs, C) the next NKV hs rows
//   model.layers.N.self_attn.v_proj.weight      (NKV hs, C) the last NKV hs rows
//   model.layers.N.self_attn.o_proj.weight      (C, C)      attprojw
//   model.layers.N.post_attention_layernorm.weight (C)      ln2w
//   model.layers.N.mlp.gate_proj.weight         (H, C)      rows [0, H) of fcw
//   model.layers.N.mlp.up_proj.weight           (H, C)      rows [H, 2H) of fcw
//   model.layers.N.mlp.down_proj.weight         (C, H)      fcprojw
//   model.norm.weight                           (C)         lnfw
//   lm_head.weight                              (V, C)      lm_head, only when untied
// HF's Llama rotates q and k in the rotate-half convention (channel i pairs with i + hs/2), which
// is what the rope op does (llm/backend/cpu/rope.hpp), so q_proj and k_proj need no permutation.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/io/safetensors.hpp"
#include "llm/io/safetensors_shards.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

// Whether every switch of `config` is Llama's, i.e. whether LlamaForCausalLM can hold the model.
bool is_llama_architecture(const GPTConfig& config);
// Whether safetensors (one file or shards) hold LlamaForCausalLM's tensors (it has
// model.embed_tokens.weight).
bool is_llama_file(const SafeTensorsShards& file);

// "rope_scaling" of config.json: {"rope_type": "llama3", "factor", "low_freq_factor",
// "high_freq_factor", "original_max_position_embeddings"}, or null for plain RoPE. Both the Llama
// and glassbox's own config.json use it.
nlohmann::json rope_scaling_json(const RopeFrequencies& f);
// Reads config["rope_scaling"] (absent, null, type "default" or "llama3"; "type" is the older
// spelling of "rope_type") into f; any other type or a missing number is an error naming `where`.
void read_rope_scaling(const nlohmann::json& config, RopeFrequencies& f, const std::string& where);

// config.json of LlamaForCausalLM for `config` (a Llama architecture), with glassbox's
// padded_vocab_size key added (transformers ignores it).
nlohmann::json llama_config_json(const GPTConfig& config);
// The model of a Llama config.json (`where` names the file in errors). Keys absent take
// transformers' LlamaConfig defaults. A field that would change the math in a way the model does
// not have (rope_scaling other than llama3, sliding_window, attention_bias or mlp_bias true,
// hidden_act other than silu, a head_dim other than hidden_size / num_attention_heads) is a
// one-line error naming the field, never an approximation.
GPTConfig llama_config_from_json(const nlohmann::json& j, const std::string& where);

// The parameters in LlamaForCausalLM's names and layout, as F32 (F64 for an f64 model), streamed
// from the backend's arena when the file is written.
std::vector<SafeTensorSource> llama_tensor_sources(ParameterTensors& tensors, Backend& backend);
// Reads LlamaForCausalLM tensors (F32/F64/F16/BF16, from one file or its shards) into `tensors`
// (pads wte to Vp with 0). A stored lm_head.weight of a tied model must equal embed_tokens. Errors
// name the file and tensor.
void import_llama_tensors(ParameterTensors& tensors, Backend& backend,
                          const SafeTensorsShards& file);

}  // namespace llm
