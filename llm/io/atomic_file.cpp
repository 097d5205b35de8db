#include "llm/io/atomic_file.hpp"

#include <unistd.h>

#include <system_error>

#include "llm/core/error.hpp"

namespace llm {

AtomicFile::AtomicFile(std::filesystem::path path, std::string context)
    : path_(std::move(path)), context_(std::move(context)) {
  tmp_ = path_;
  tmp_ += ".tmp";
  file_ = std::fopen(tmp_.c_str(), "wb");
  check(file_ != nullptr, context_ + "cannot open " + tmp_.string() + " for writing");
}

AtomicFile::~AtomicFile() {
  if (file_ == nullptr) return;  // committed
  std::fclose(file_);
  std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes)
    throw Error(context_ + "write failed (disk full?)");
}

void AtomicFile::commit() {
  const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    std::remove(tmp_.c_str());
    throw Error(context_ + "write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  check(!ec, context_ + "cannot rename " + tmp_.string() + ": " + ec.message());
}

}  // namespace llm
