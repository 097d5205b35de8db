// implements: llm::DataLoader, llm::find_shards (see dataloader.hpp for the reading order).
#include "llm/data/dataloader.hpp"

#include <algorithm>
#include <random>

#include "llm/core/error.hpp"
#include "llm/data/shard.hpp"

namespace llm {
namespace {

// Shell-style match of a file name: '*' is any run of characters, '?' any one character.
bool wildcard_match(const std::string& pattern, const std::string& name) {
  size_t p = 0, n = 0, star = std::string::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, star_n = n;  // let '*' match nothing first, then grow it on mismatch
    } else if (star != std::string::npos) {
      p = star + 1, n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::vector<std::filesystem::path> find_shards(const std::string& pattern_or_dir) {
  namespace fs = std::filesystem;
  const fs::path pattern(pattern_or_dir);
  std::error_code ec;
  std::vector<fs::path> files;
  fs::path dir;
  std::string name_pattern;
  if (fs::is_directory(pattern, ec)) {
    dir = pattern;
    name_pattern = "*.bin";
  } else if (pattern.filename().string().find_first_of("*?") != std::string::npos) {
    dir = pattern.has_parent_path() ? pattern.parent_path() : fs::path(".");
    check(dir.string().find_first_of("*?") == std::string::npos,
          "data pattern " + pattern_or_dir + ": wildcards are only allowed in the file name");
    name_pattern = pattern.filename().string();
  } else {
    check(fs::is_regular_file(pattern, ec),
          "data pattern " + pattern_or_dir + ": no such file or directory");
    return {pattern};
  }
  if (fs::is_directory(dir, ec)) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && wildcard_match(name_pattern, entry.path().filename().string()))
        files.push_back(entry.path());
    }
  }
  check(!files.empty(), "data pattern " + pattern_or_dir + ": no shard files match");
  std::sort(files.begin(), files.end());
  return files;
}

DataLoader::DataLoader(std::string pattern_or_dir, int B, int T, int rank, int world, uint64_t seed,
                       Sampling sampling)
    : pattern_(std::move(pattern_or_dir)),
      B_(B),
      T_(T),
      rank_(rank),
      world_(world),
      seed_(seed),
      sampling_(sampling) {
  check(B > 0 && T > 0, "data loader: B and T must be positive (got B=" + std::to_string(B) +
                            ", T=" + std::to_string(T) + ")");
  check(world > 0 && rank >= 0 && rank < world, "data loader: rank " + std::to_string(rank) +
                                                    " is not in [0, " + std::to_string(world) +
                                                    ")");
  files_ = find_shards(pattern_);
  // Every shard must hold at least one full global batch: B*T*world inputs plus one more target.
  const int64_t needed = int64_t(B) * T * world + 1;
  for (const auto& file : files_) {
    const int64_t n = read_shard_header(file).num_tokens;
    check(n >= needed, "token shard " + file.string() +
                           ": block size larger than the data: it has " + std::to_string(n) +
                           " tokens, but one batch needs B*T*world+1 = " + std::to_string(B) + "*" +
                           std::to_string(T) + "*" + std::to_string(world) +
                           "+1 = " + std::to_string(needed));
    file_tokens_.push_back(n);
    total_tokens_ += n;
  }
  reset();
}

std::vector<int64_t> DataLoader::shard_order(int64_t epoch) const {
  std::vector<int64_t> order(files_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  if (seed_ == 0) return order;
  // Fisher-Yates with our own index draw: std::shuffle's algorithm differs between standard
  // libraries, mt19937_64's output does not. (The modulo bias is ~n/2^64: negligible.)
  std::mt19937_64 rng(seed_ + uint64_t(epoch));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

void DataLoader::load_shard() {
  const int64_t file = order_[static_cast<size_t>(state_.shard)];
  if (file == loaded_file_) return;
  tokens_ = read_shard(files_[static_cast<size_t>(file)]);
  loaded_file_ = file;
}

void DataLoader::reset() { set_state(DataLoaderState{}); }

void DataLoader::set_state(const DataLoaderState& state) {
  const int64_t num_shards = int64_t(files_.size());
  if (state.epoch < 0 || state.shard < 0 || state.shard >= num_shards)
    throw Error("data loader " + pattern_ + ": saved state (epoch " + std::to_string(state.epoch) +
                ", shard " + std::to_string(state.shard) + ") does not fit the " +
                std::to_string(num_shards) + " shards found");
  std::vector<int64_t> order =
      (order_.empty() || state.epoch != state_.epoch) ? shard_order(state.epoch) : order_;
  const int64_t n = file_tokens_[static_cast<size_t>(order[static_cast<size_t>(state.shard)])];
  if (state.position < 0 || !batch_fits(state.position, n))
    throw Error("data loader " + pattern_ + ": saved position " + std::to_string(state.position) +
                " is past the end of shard " + std::to_string(state.shard) + " (" +
                std::to_string(n) + " tokens) for this batch size");
  state_ = state;
  order_ = std::move(order);
  load_shard();
}

void DataLoader::next_batch(int32_t* inputs, int32_t* targets) {
  read_batch(inputs, targets, rank_);
  advance();
}

void DataLoader::read_batch(int32_t* inputs, int32_t* targets, int slot) const {
  check(slot >= 0 && slot < world_, "data loader: slot " + std::to_string(slot) +
                                        " is not in [0, " + std::to_string(world_) + ")");
  const int64_t BT = int64_t(B_) * T_;
  if (sampling_ == Sampling::sequential) {
    const int32_t* chunk = tokens_.data() + state_.position + slot * BT;  // B*T+1 tokens
    std::copy(chunk, chunk + BT, inputs);
    std::copy(chunk + 1, chunk + BT + 1, targets);
    return;
  }
  // random_windows: draw the offsets of all world*B rows of this global batch, keep this slot's B.
  std::seed_seq seq{uint32_t(seed_),           uint32_t(seed_ >> 32),
                    uint32_t(state_.epoch),    uint32_t(state_.shard),
                    uint32_t(state_.position), uint32_t(state_.position >> 32)};
  std::mt19937_64 rng(seq);
  const uint64_t starts = uint64_t(tokens_.size()) - uint64_t(T_);  // a row needs T+1 tokens
  for (int64_t row = 0; row < int64_t(world_) * B_; row++) {
    const uint64_t offset = rng() % starts;  // bias ~starts/2^64: negligible
    const int64_t b = row - int64_t(slot) * B_;
    if (b < 0 || b >= B_) continue;
    const int32_t* window = tokens_.data() + offset;
    std::copy(window, window + T_, inputs + b * T_);
    std::copy(window + 1, window + T_ + 1, targets + b * T_);
  }
}

bool DataLoader::batch_fits(int64_t position, int64_t shard_tokens) const {
  const int64_t global_batch = int64_t(B_) * T_ * world_;
  if (sampling_ == Sampling::sequential) return position + global_batch + 1 <= shard_tokens;
  return position < (shard_tokens - 1) / global_batch;  // random windows: position counts batches
}

void DataLoader::advance() {
  // The next global batch: world*B*T tokens on (sequential) or the next batch index (random
  // windows); when it does not fit in this shard, the next shard (and after the last, a new epoch).
  DataLoaderState next = state_;
  next.position += sampling_ == Sampling::sequential ? int64_t(B_) * T_ * world_ : 1;
  if (!batch_fits(next.position, int64_t(tokens_.size()))) {
    next.position = 0;
    if (++next.shard == int64_t(files_.size())) {
      next.shard = 0;
      ++next.epoch;
    }
  }
  set_state(next);
}

}  // namespace llm
