#pragma once
// InputFile: a C stdio FILE* opened for reading that closes itself at the end of its scope, for
// the readers that fread a header and then arrays of it (token shards, llm.c model files).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace llm {

struct InputFile {
  std::FILE* f = nullptr;
  uint64_t size = 0;  // bytes
  std::string where;  // how errors name the file and its kind: "token shard data/x.bin: "

  // Opens `path` for reading, or throws an error that starts with `where`.
  InputFile(const std::filesystem::path& path, std::string where);
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    if (f) std::fclose(f);
  }

  // Reads the header of n int32 words that llm.c's files begin with (256 words, 1024 bytes), or
  // throws naming a file too short to hold it.
  void read_header(int32_t* words, int n);
};

}  // namespace llm
