#pragma once
// defines: llm::DataLoader, llm::DataLoaderState, llm::find_shards
//
// Reads (inputs, targets) batches of shape (B, T) from llm.c token shards, llm.c style:
//   - a batch is B*T+1 consecutive tokens: inputs = the first B*T, targets = the same shifted by
//   one;
//   - data-parallel ranks read disjoint slices: at global position p, rank r reads from
//     p + r*B*T, and every batch moves p forward by world*B*T. So ranks 0..world-1 together read
//     exactly what one rank with batch world*B would read;
//   - when the current shard has fewer than world*B*T+1 tokens left after p, move to the next shard
//     (p = 0); after the last shard a new epoch starts with the first.
// Shuffling: seed 0 keeps the shard order (sorted file names) in every epoch. Any other seed
// permutes the shard order per epoch with a Fisher-Yates shuffle driven by std::mt19937_64(seed +
// epoch), which is the same on every platform. Tokens inside a shard are always read in order. The
// state (epoch, shard, position) is the same on every rank, so a checkpoint stores one.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llm {

// How a shard is read.
//   sequential:      consecutive B*T+1 windows, llm.c style (every token once per epoch);
//   random_windows:  each of the global batch's world*B rows starts at an independent random offset
//                    in the shard, nanoGPT style (iid rows, so consecutive batches are not
//                    neighbouring text). A shard still yields (tokens-1)/(world*B*T) batches per
//                    epoch, and the offsets come from mt19937_64 seeded by (seed, epoch, shard,
//                    batch), so they are the same on every run, rank and platform.
enum class Sampling { sequential, random_windows };

struct DataLoaderState {
  int64_t epoch = 0;     // how many times all shards have been read
  int64_t shard = 0;     // index into this epoch's shard order
  int64_t position = 0;  // global token offset p inside that shard of the next batch
                         // (random_windows: the index of the next batch inside that shard)
};

// The shard files for a pattern: a directory (all *.bin in it), a file name with '*' / '?'
// wildcards in its last component (e.g. "data/shakespeare_char/train_*.bin"), or one file. Sorted
// by name. Throws llm::Error naming the pattern when nothing matches.
std::vector<std::filesystem::path> find_shards(const std::string& pattern_or_dir);

class DataLoader {
 public:
  // Throws llm::Error naming the pattern when no shard matches, and naming the shard when one has
  // fewer than B*T*world+1 tokens.
  DataLoader(std::string pattern_or_dir, int B, int T, int rank = 0, int world = 1,
             uint64_t seed = 0, Sampling sampling = Sampling::sequential);

  // Fills inputs[B*T] and targets[B*T] (row-major (B, T)) with this rank's batch and advances:
  // read_batch(inputs, targets, rank), then advance().
  void next_batch(int32_t* inputs, int32_t* targets);
  // The batch of slot `slot` in [0, world) of the current global batch, which starts at
  // p + slot*B*T; does not advance. The trainer uses slots to spread one optimizer step's
  // world*grad_accum micro-batches over ranks and micro-steps (llm/train/trainer.hpp).
  void read_batch(int32_t* inputs, int32_t* targets, int slot) const;
  // Moves p to the next global batch (the next shard when this one has too few tokens left).
  void advance();
  // Back to epoch 0, first shard, position 0.
  void reset();

  DataLoaderState state() const { return state_; }
  // Continue from a saved state: the next batch is the one that followed when it was saved.
  void set_state(const DataLoaderState& state);

  int64_t total_tokens() const { return total_tokens_; }  // over all shards
  int64_t batch_tokens() const { return int64_t(B_) * T_; }
  const std::vector<std::filesystem::path>& shards() const { return files_; }  // sorted
  int B() const { return B_; }
  int T() const { return T_; }

 private:
  std::vector<int64_t> shard_order(int64_t epoch) const;  // permutation of shard indices
  // Whether a global batch can start at `position` of a shard holding shard_tokens tokens.
  bool batch_fits(int64_t position, int64_t shard_tokens) const;
  void load_shard();  // the shard state_ points at

  std::string pattern_;
  int B_, T_, rank_, world_;
  uint64_t seed_;
  Sampling sampling_;
  std::vector<std::filesystem::path> files_;
  std::vector<int64_t> file_tokens_;  // token count of each file
  int64_t total_tokens_ = 0;

  DataLoaderState state_;
  std::vector<int64_t> order_;  // shard order of state_.epoch
  int64_t loaded_file_ = -1;    // index into files_ of the tokens in memory
  std::vector<int32_t> tokens_;
};

}  // namespace llm
