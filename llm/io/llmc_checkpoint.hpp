#pragma once
// defines: llm.c model files (gpt2_124M.bin, what llm.c's train_gpt2.py writes and train_gpt2.c/.cu
//          read): read_llmc_header, load_llmc_weights, write_llmc_checkpoint.
//
// Layout (all little-endian):
//   header: 256 x int32
//     [0] magic 20240326
//     [1] version: 3 = parameters stored as fp32, 5 = parameters stored as bf16
//     [2] maxT (max sequence length)   [3] V (vocab size)   [4] L (layers)   [5] NH (heads)
//     [6] C (channels)                 [7] Vp (padded vocab size)
//     [8..255] zero
//   then every parameter, in this order and shape (the same order, shapes and (out, in) layout as
//   llm::ParameterTensors, so the file is our parameter arena written out):
//     wte (Vp, C)  wpe (maxT, C)  ln1w (L, C)  ln1b (L, C)  qkvw (L, 3C, C)  qkvb (L, 3C)
//     attprojw (L, C, C)  attprojb (L, C)  ln2w (L, C)  ln2b (L, C)  fcw (L, 4C, C)  fcb (L, 4C)
//     fcprojw (L, C, 4C)  fcprojb (L, C)  lnfw (C)  lnfb (C)
//   wte's rows V..Vp are padding (zero in files that llm.c writes).
#include <cstdint>
#include <filesystem>

#include "llm/model/gpt.hpp"

namespace llm {

inline constexpr int32_t kLlmcModelMagic = 20240326;
inline constexpr int kLlmcModelVersionF32 = 3;
inline constexpr int kLlmcModelVersionBF16 = 5;

struct LlmcHeader {
  GPTConfig config;
  int version = 0;          // 3 (fp32) or 5 (bf16)
  int bytes_per_param = 0;  // 4 or 2
};

// Reads and checks the header: magic, version, a valid shape, and a file size that holds exactly
// the parameters the shape needs. Throws llm::Error naming the file otherwise.
LlmcHeader read_llmc_header(const std::filesystem::path& path);

// Loads the parameters into model.params (model.config() must equal the header's config).
void load_llmc_weights(const std::filesystem::path& path, GPT& model);

// Writes model.params as a version 3 (fp32) file; via path + ".tmp" and a rename.
void write_llmc_checkpoint(const std::filesystem::path& path, GPT& model);

}  // namespace llm
