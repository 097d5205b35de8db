// implements: llm::SafeTensorsShards (one safetensors file, or the shards of an index).
#include "llm/io/safetensors_shards.hpp"

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/json_file.hpp"

namespace llm {

namespace fs = std::filesystem;

SafeTensorsShards::SafeTensorsShards(const fs::path& file) : path_(file) {
  shards_.push_back(std::make_unique<SafeTensorsFile>(file));
}

SafeTensorsShards SafeTensorsShards::open_model(const fs::path& dir) {
  const fs::path index_path = dir / "model.safetensors.index.json";
  std::error_code ec;
  if (!fs::exists(index_path, ec)) return SafeTensorsShards(dir / "model.safetensors");

  SafeTensorsShards shards;
  shards.path_ = index_path;
  const std::string where = index_path.string() + ": ";
  const nlohmann::json index = read_json_file(index_path);
  check(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object() &&
            !index["weight_map"].empty(),
        where + "expected a \"weight_map\" object of tensor name -> shard file");
  std::map<std::string, size_t> shard_number;  // shard file name -> index into shards_
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    check(it.value().is_string(), where + "weight_map[\"" + it.key() + "\"] is " +
                                      it.value().dump() + ", expected a shard file name");
    const std::string shard = it.value().get<std::string>();
    check(!shard.empty() && fs::path(shard).filename() == fs::path(shard) && shard != "..",
          where + "weight_map[\"" + it.key() + "\"] is \"" + shard +
              "\", expected a file name in the same directory");
    auto [found, added] = shard_number.emplace(shard, shards.shards_.size());
    if (added) {
      check(fs::exists(dir / shard, ec), where + "shard " + (dir / shard).string() +
                                             " (of tensor '" + it.key() + "') is missing");
      shards.shards_.push_back(std::make_unique<SafeTensorsFile>(dir / shard));
    }
    const SafeTensorsFile& file = *shards.shards_[found->second];
    check(file.contains(it.key()),
          where + "tensor '" + it.key() + "' is not in its shard " + file.path().string());
    shards.shard_of_[it.key()] = found->second;
  }
  return shards;
}

bool SafeTensorsShards::contains(const std::string& name) const {
  if (shard_of_.empty()) return shards_.front()->contains(name);
  return shard_of_.count(name) > 0;
}

const SafeTensorsFile& SafeTensorsShards::file_of(const std::string& name) const {
  if (shard_of_.empty()) return *shards_.front();  // its own errors name the file and the tensor
  const auto it = shard_of_.find(name);
  check(it != shard_of_.end(), path_.string() + ": no tensor '" + name + "' in weight_map");
  return *shards_[it->second];
}

std::vector<fs::path> SafeTensorsShards::files() const {
  std::vector<fs::path> out;
  for (const auto& shard : shards_) out.push_back(shard->path());
  return out;
}

}  // namespace llm
