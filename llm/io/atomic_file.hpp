#pragma once
// defines: llm::AtomicFile, a file that appears under its name complete or not at all.
//
// Bytes go to PATH.tmp; commit() flushes them to disk (fsync) and renames PATH.tmp over PATH, which
// POSIX makes atomic. If anything fails before commit() (an exception, a full disk), PATH.tmp is
// removed and PATH still holds what it held before: a crash never leaves a half-written shard,
// checkpoint or model file under the real name.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

namespace llm {

class AtomicFile {
 public:
  // `context` starts every error message, e.g. "token shard data/train_000000.bin: ".
  AtomicFile(std::filesystem::path path, std::string context);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes PATH.tmp unless committed

  void write(const void* data, size_t bytes);
  void commit();

 private:
  std::filesystem::path path_, tmp_;
  std::string context_;
  std::FILE* file_ = nullptr;
};

}  // namespace llm
