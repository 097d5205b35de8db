// implements: InputFile (see input_file.hpp).
#include "llm/io/input_file.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include "llm/core/error.hpp"

namespace llm {

InputFile::InputFile(const std::filesystem::path& path, std::string where_)
    : where(std::move(where_)) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), where + "no such file");
  size = std::filesystem::file_size(path, ec);
  check(!ec, where + "cannot read its size: " + ec.message());
  f = std::fopen(path.c_str(), "rb");
  check(f != nullptr, where + "cannot open for reading (" + std::strerror(errno) + ")");
}

void InputFile::read_header(int32_t* words, int n) {
  check(size >= uint64_t(n) * 4, where + "file is " + std::to_string(size) +
                                     " bytes, shorter than the " + std::to_string(n * 4) +
                                     "-byte header");
  check(std::fread(words, 4, size_t(n), f) == size_t(n), where + "cannot read the header");
}

}  // namespace llm
