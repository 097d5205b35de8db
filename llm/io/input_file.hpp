#pragma once
// InputFile: a C stdio FILE* opened for reading that closes itself at the end of its scope, for
// the readers that fread a header and then arrays of it (token shards, llm.c model files).
#include <cstdio>

namespace llm {

struct InputFile {
  std::FILE* f = nullptr;

  InputFile() = default;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    if (f) std::fclose(f);
  }
};

}  // namespace llm
