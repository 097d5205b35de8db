// Tests for llm/data/dataloader: batch contents, shard/epoch order, ranks, resume, errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/data/dataloader.hpp"
#include "llm/data/shard.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;

namespace {

// A fresh directory holding `num_shards` shards of `tokens_per_shard` tokens; token i of shard k is
// k*1000 + i, so a token tells where it came from.
fs::path make_shards(const std::string& name, int num_shards, int tokens_per_shard) {
  const fs::path dir = test_inputs::fresh_dir("dataloader_" + name);
  for (int k = 0; k < num_shards; ++k) {
    std::vector<int32_t> tokens(tokens_per_shard);
    for (int i = 0; i < tokens_per_shard; ++i) tokens[i] = k * 1000 + i;
    llm::write_shard(dir / ("train_" + std::to_string(k) + ".bin"), tokens);
  }
  return dir;
}

std::vector<int32_t> range(int32_t begin, int32_t count) {
  std::vector<int32_t> out(count);
  for (int32_t i = 0; i < count; ++i) out[i] = begin + i;
  return out;
}

struct Batch {
  std::vector<int32_t> inputs, targets;
  bool operator==(const Batch&) const = default;
};

Batch next(llm::DataLoader& loader) {
  Batch b{std::vector<int32_t>(loader.batch_tokens()), std::vector<int32_t>(loader.batch_tokens())};
  loader.next_batch(b.inputs.data(), b.targets.data());
  return b;
}

}  // namespace

TEST_CASE("dataloader: batches are consecutive tokens, targets shifted by one, shards in order") {
  // 20 tokens per shard, B*T = 6: batches at 0, 6, 12 (12 + 6 + 1 <= 20), then the next shard.
  const fs::path dir = make_shards("consecutive", 2, 20);
  llm::DataLoader loader((dir / "train_*.bin").string(), 2, 3, 0, 1, 0);
  CHECK(loader.total_tokens() == 40);
  CHECK(loader.shards().size() == 2);
  for (int32_t start : {0, 6, 12, 1000, 1006, 1012, 0}) {  // the last one is epoch 1
    Batch b = next(loader);
    CHECK(b.inputs == range(start, 6));
    CHECK(b.targets == range(start + 1, 6));
  }
  CHECK(loader.state().epoch == 1);
  loader.reset();
  CHECK(next(loader).inputs == range(0, 6));
}

TEST_CASE("dataloader: a directory means all *.bin in it, and a single file works") {
  const fs::path dir = make_shards("directory", 3, 10);
  CHECK(llm::DataLoader(dir.string(), 1, 4).shards().size() == 3);
  CHECK(llm::DataLoader((dir / "train_1.bin").string(), 1, 4).shards().size() == 1);
  CHECK(llm::find_shards((dir / "train_?.bin").string()).size() == 3);
}

TEST_CASE("dataloader: deterministic for a seed; a seed permutes the shard order per epoch") {
  const fs::path dir = make_shards("shuffle", 6, 8);
  auto shard_sequence = [&](uint64_t seed) {
    llm::DataLoader loader(dir.string(), 1, 7, 0, 1, seed);  // one batch per shard
    std::vector<int32_t> firsts;
    for (int i = 0; i < 6 * 4; ++i) firsts.push_back(next(loader).inputs[0] / 1000);
    return firsts;
  };
  const auto unshuffled = shard_sequence(0);
  for (int i = 0; i < 24; ++i) CHECK(unshuffled[i] == i % 6);
  const auto a = shard_sequence(42), b = shard_sequence(42), c = shard_sequence(43);
  CHECK(a == b);
  CHECK(a != unshuffled);
  CHECK(a != c);
  for (int epoch = 0; epoch < 4; ++epoch) {  // every epoch visits every shard once
    std::set<int32_t> seen(a.begin() + epoch * 6, a.begin() + epoch * 6 + 6);
    CHECK(seen.size() == 6);
  }
}

TEST_CASE(
    "dataloader: two ranks read disjoint slices that together are one rank with twice the batch") {
  const fs::path dir = make_shards("ranks", 3, 50);
  const uint64_t seed = 7;
  llm::DataLoader whole(dir.string(), 4, 3, 0, 1, seed);
  llm::DataLoader rank0(dir.string(), 2, 3, 0, 2, seed);
  llm::DataLoader rank1(dir.string(), 2, 3, 1, 2, seed);
  for (int step = 0; step < 20; ++step) {  // several shards and epochs
    Batch w = next(whole), r0 = next(rank0), r1 = next(rank1);
    std::vector<int32_t> inputs = r0.inputs, targets = r0.targets;
    inputs.insert(inputs.end(), r1.inputs.begin(), r1.inputs.end());
    targets.insert(targets.end(), r1.targets.begin(), r1.targets.end());
    CHECK(inputs == w.inputs);
    CHECK(targets == w.targets);
    CHECK(r0.inputs.back() < r1.inputs.front());  // disjoint
    CHECK(rank0.state().position == rank1.state().position);
  }
}

TEST_CASE("dataloader: a restored state continues exactly") {
  const fs::path dir = make_shards("resume", 3, 30);
  llm::DataLoader first(dir.string(), 2, 4, 0, 1, 5);
  for (int i = 0; i < 11; ++i) next(first);
  const llm::DataLoaderState saved = first.state();
  std::vector<Batch> expected;
  for (int i = 0; i < 15; ++i) expected.push_back(next(first));

  llm::DataLoader second(dir.string(), 2, 4, 0, 1, 5);
  second.set_state(saved);
  for (int i = 0; i < 15; ++i) CHECK(next(second) == expected[i]);

  llm::DataLoaderState bad = saved;
  bad.shard = 99;
  CHECK_THROWS_AS(second.set_state(bad), llm::Error);
}

TEST_CASE("dataloader: errors name the pattern or shard") {
  const fs::path dir = make_shards("errors", 2, 20);
  try {
    llm::DataLoader loader(dir.string(), 4, 5, 0, 1, 0);  // needs 4*5*1+1 = 21 tokens
    FAIL("no error");
  } catch (const llm::Error& e) {
    const std::string message = e.what();
    CHECK(message.find("block size larger than the data") != std::string::npos);
    CHECK(message.find("20 tokens") != std::string::npos);
    CHECK(message.find("= 21") != std::string::npos);
    CHECK(message.find("train_0.bin") != std::string::npos);
  }
  CHECK_THROWS_AS(llm::DataLoader(dir.string(), 2, 5, 1, 2, 0), llm::Error);  // 2*5*2+1 = 21 > 20
  try {
    llm::DataLoader loader((dir / "val_*.bin").string(), 1, 1);
    FAIL("no error");
  } catch (const llm::Error& e) {
    CHECK(std::string(e.what()).find("val_*.bin") != std::string::npos);
    CHECK(std::string(e.what()).find("no shard files match") != std::string::npos);
  }
}

TEST_CASE("dataloader: random windows are contiguous, seeded, split over ranks, and resumable") {
  using llm::Sampling;
  const fs::path dir = make_shards("random", 2, 200);
  const int B = 3, T = 5;
  llm::DataLoader a(dir.string(), B, T, 0, 1, 7, Sampling::random_windows);
  llm::DataLoader b(dir.string(), B, T, 0, 1, 7, Sampling::random_windows);
  llm::DataLoader other_seed(dir.string(), B, T, 0, 1, 8, Sampling::random_windows);
  bool any_difference = false, any_non_sequential = false;
  // (200 - 1) / (3 * 5) = 13 batches per shard: 40 batches cross both shards and an epoch.
  for (int step = 0; step < 40; ++step) {
    const Batch x = next(a);
    CHECK(x == next(b));  // same seed, same batches
    any_difference |= !(x == next(other_seed));
    for (int row = 0; row < B; ++row) {
      const int32_t first = x.inputs[row * T];
      if (row > 0 && first != x.inputs[row * T - 1] + 1) any_non_sequential = true;
      for (int t = 0; t < T; ++t) {  // each row is one contiguous window of one shard
        CHECK(x.inputs[row * T + t] == first + t);
        CHECK(x.targets[row * T + t] == first + t + 1);
      }
      CHECK(first % 1000 + T < 200);  // inside its shard, with room for the last target
    }
  }
  CHECK(any_difference);
  CHECK(any_non_sequential);

  // Two ranks: together they read the rows one rank reads with twice the batch.
  llm::DataLoader one(dir.string(), 2 * B, T, 0, 1, 7, Sampling::random_windows);
  llm::DataLoader r0(dir.string(), B, T, 0, 2, 7, Sampling::random_windows);
  llm::DataLoader r1(dir.string(), B, T, 1, 2, 7, Sampling::random_windows);
  for (int step = 0; step < 5; ++step) {
    const Batch whole = next(one), first = next(r0), second = next(r1);
    std::vector<int32_t> joined = first.inputs;
    joined.insert(joined.end(), second.inputs.begin(), second.inputs.end());
    CHECK(joined == whole.inputs);
  }

  // A saved state continues exactly.
  llm::DataLoader c(dir.string(), B, T, 0, 1, 7, Sampling::random_windows);
  for (int step = 0; step < 17; ++step) next(c);
  const llm::DataLoaderState saved = c.state();
  const Batch expected = next(c);
  llm::DataLoader d(dir.string(), B, T, 0, 1, 7, Sampling::random_windows);
  d.set_state(saved);
  CHECK(next(d) == expected);
}
