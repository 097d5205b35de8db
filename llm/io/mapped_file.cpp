#include "llm/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "llm/core/error.hpp"

namespace llm {

MappedFile::MappedFile(const std::filesystem::path& path, const std::string& where) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), where + "no such file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, where + "cannot open for reading (" + std::strerror(errno) + ")");
  const off_t end = ::lseek(fd, 0, SEEK_END);
  size_ = end > 0 ? size_t(end) : 0;
  if (size_ > 0) {
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int error = errno;
    ::close(fd);
    check(map != MAP_FAILED, where + "cannot map into memory (" + std::strerror(error) + ")");
    data_ = static_cast<const uint8_t*>(map);
    // Loading reads front to back: let the kernel read ahead generously.
    ::madvise(map, size_, MADV_SEQUENTIAL);
  } else {
    ::close(fd);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(const uint8_t* begin, size_t n) const {
  // Only the pages wholly inside the range: a page shared with a neighbouring tensor stays mapped.
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (uintptr_t(begin) + page - 1) / page * page;
  const uintptr_t last = (uintptr_t(begin) + n) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace llm
