#pragma once
// defines: fuzz_scratch::write_file, for harnesses whose reader takes a path: the input is written
// to a file of that name in a scratch directory of this process (in /dev/shm when there is one).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace fuzz_scratch {

inline const std::filesystem::path& directory() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path root = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::filesystem::path d = root / ("glassbox_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes size bytes at data to directory()/name and returns the path.
inline std::filesystem::path write_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path path = directory() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

}  // namespace fuzz_scratch
