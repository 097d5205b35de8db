#pragma once
// defines: llm::MappedFile, a whole file mapped read-only into memory.
//
// Loading maps a checkpoint instead of reading it into a buffer: the kernel hands over its
// page-cache pages, nothing is copied twice, and release() gives pages back once their values are
// in the model, so the file's bytes never all sit in the process's memory at once next to the
// weights.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace llm {

class MappedFile {
 public:
  // `where` starts every error message, e.g. "safetensors file ckpt/model.safetensors: ".
  MappedFile(const std::filesystem::path& path, const std::string& where);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Done with bytes [begin, begin + n): their whole pages leave the process's resident memory (they
  // stay in the page cache, and reading them again maps them back in).
  void release(const uint8_t* begin, size_t n) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace llm
