#pragma once
// defines: llm::SafeTensorsShards, a model's weights in one safetensors file or in the shards
//          that a Hugging Face index lists, read through one interface.
//
// Large models on the Hugging Face hub are split into shards: model-00001-of-00004.safetensors,
// ..., and model.safetensors.index.json
//   {"metadata": {"total_size": 16060522496},
//    "weight_map": {"model.embed_tokens.weight": "model-00001-of-00004.safetensors", ...}}
// names the shard of every tensor. Every shard is mapped (SafeTensorsFile), so a tensor is still
// read straight from its file's pages when it is loaded, one at a time, as from a single file.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm/io/safetensors.hpp"

namespace llm {

class SafeTensorsShards {
 public:
  // One file: every tensor is in it.
  explicit SafeTensorsShards(const std::filesystem::path& file);
  // dir/model.safetensors.index.json when it exists, else dir/model.safetensors. The index must
  // be valid JSON with a "weight_map" object of tensor name -> shard file name (a file in dir),
  // and every shard it names must open; each error is one line naming the index and the shard.
  static SafeTensorsShards open_model(const std::filesystem::path& dir);

  bool contains(const std::string& name) const;
  // The file holding the tensor; throws naming the index (or the file) and the tensor.
  const SafeTensorsFile& file_of(const std::string& name) const;
  // SafeTensorsFile's reads, from the tensor's file.
  StoredTensor stored(const std::string& name, const std::vector<int64_t>& expected_shape) const {
    return file_of(name).stored(name, expected_shape);
  }
  std::vector<float> read_f32(const std::string& name,
                              const std::vector<int64_t>& expected_shape) const {
    return file_of(name).read_f32(name, expected_shape);
  }
  // The single file, or the index: what error messages name.
  const std::filesystem::path& path() const { return path_; }
  // Every file read, in the index's order of first use (one entry for a single file).
  std::vector<std::filesystem::path> files() const;

 private:
  SafeTensorsShards() = default;
  std::filesystem::path path_;
  std::vector<std::unique_ptr<SafeTensorsFile>> shards_;
  std::map<std::string, size_t> shard_of_;  // tensor name -> index into shards_ (with an index)
};

}  // namespace llm
