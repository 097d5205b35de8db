#pragma once
// defines: checkpoint directories (save, load), and the Hugging Face GPT-2 tensor naming.
//
// A checkpoint is a directory:
//   config.json               Hugging Face GPT2Config keys (n_layer, n_head, n_embd, n_positions,
//                             vocab_size, ...) so transformers' GPT2LMHeadModel can load it; for a
//                             Llama-style model LlamaConfig's keys (llm/io/hf_llama.hpp)
//   model.safetensors         f32 weights under HF GPT-2 names in HF's layout: the attention and
//                             MLP weights are Conv1D, stored (in, out), i.e. transposed from our
//                             (out, in); wte is stored unpadded (V, C); the head is tied and not
//                             stored. A Llama-style model's are LlamaForCausalLM's (hf_llama.hpp)
//   glassbox_tokenizer.json   the tokenizer the model was trained with (Tokenizer::save; GPT-2 adds
//                             encoder.json + vocab.bpe)
//   train_state.safetensors   AdamW moments m, v under our names (only in training checkpoints)
//   train_state.json          step, data position, RNG state and the full run config
// It is written into DIR.tmp and renamed over DIR at the end, so a crash never leaves half of one.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "llm/backend/host_copy.hpp"
#include "llm/io/safetensors.hpp"
#include "llm/io/safetensors_shards.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

class Tokenizer;

// Our parameter name -> its Hugging Face name for layer l (l ignored for non-layer tensors), e.g.
// ("qkvw", 3) -> "transformer.h.3.attn.c_attn.weight".
std::string hf_tensor_name(const std::string& name, int layer);

// All tensors of `tensors` (parameters or gradients) in HF names and layout, as F32 (F64 for an f64
// model), ready to write: each streams from the backend's arena when the file is written.
std::vector<SafeTensorSource> hf_tensor_sources(ParameterTensors& tensors, Backend& backend);
// The same gathered in host memory (for tests and cross-checks that read or edit the bytes).
std::vector<SafeTensorOut> export_hf_tensors(ParameterTensors& tensors, Backend& backend);
// Reads HF-named, HF-layout weights from a safetensors file (or its shards) into `tensors` (pads
// wte to Vp with 0): names with or without the "transformer." prefix, F32/F64/F16/BF16; attn.bias /
// attn.masked_bias buffers are ignored, and an lm_head.weight must equal wte (the head is tied). A
// file of LlamaForCausalLM's tensors is read by import_llama_tensors (llm/io/hf_llama.hpp). Errors
// name the file and the tensor.
void import_hf_tensors(ParameterTensors& tensors, Backend& backend, const SafeTensorsShards& file);

// config.json <-> GPTConfig: GPT-2's keys (with glassbox's switch keys for other mixes), or
// LlamaConfig's for a Llama-style model (model_type "llama", llm/io/hf_llama.hpp).
void write_model_config(const std::filesystem::path& path, const GPTConfig& config);
GPTConfig read_model_config(const std::filesystem::path& path);

// Builds a directory atomically: fill(tmp) writes into dir + ".tmp", which then replaces dir.
void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path&)>& fill);
// Finishes a write_directory_atomically that a crash cut short between its two renames, when only
// DIR.old (the previous directory) and DIR.tmp (the new one, complete: it is only renamed once
// filled) exist: DIR.tmp becomes DIR and DIR.old is dropped (DIR.old becomes DIR if DIR.tmp is
// gone). Returns what it did, or "" when there was nothing to recover.
std::string recover_interrupted_save(const std::filesystem::path& dir);
// Writes config.json + model.safetensors of `weights` (the model's parameters, or AdamW's f32
// master copy of them) (+ tokenizer files when given) into an existing `dir`.
void write_model_files(const std::filesystem::path& dir, ParameterTensors& weights,
                       Backend& backend, const Tokenizer* tokenizer);

// Writes config.json + model.safetensors (+ tokenizer files when given) into `dir` atomically.
void save_model_checkpoint(const std::filesystem::path& dir, GPT& model,
                           const Tokenizer* tokenizer);
// Reads config.json of a checkpoint directory (throws naming the file when missing or malformed).
GPTConfig read_checkpoint_config(const std::filesystem::path& dir);
// Loads model.safetensors of `dir` into model.params (the config must match
// read_checkpoint_config). `dir` may be a glassbox checkpoint or a Hugging Face GPT-2 or Llama
// directory (config.json + model.safetensors, or the shards model.safetensors.index.json lists,
// llm/io/safetensors_shards.hpp). Every value is checked finite; a NaN or infinity is
// an error naming the file and the tensor.
void load_model_weights(const std::filesystem::path& dir, GPT& model);
// "loaded DIR/model.safetensors: 498 MB in 0.31 s (1606 MB/s)" (the index and the total size of
// its shards for a sharded directory), for the summaries of sample and eval.
std::string describe_load(const std::filesystem::path& dir, double seconds);

}  // namespace llm
