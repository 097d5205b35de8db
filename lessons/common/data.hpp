#pragma once
// defines: lesson::read_tinyshakespeare, lesson::source_dir
//
// The corpus the course trains on: tinyshakespeare (1.1 MB of plays, 65 distinct characters).
// Fetch it once with   data/fetch.sh tinyshakespeare   (or, offline, with
// GLASSBOX_DATA_MIRROR=/path/to/mirror data/fetch.sh tinyshakespeare). A missing file is an error
// with that instruction, never a silent skip: a test that passes without its data proves nothing.
#include <cstddef>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#ifndef GLASSBOX_SOURCE_DIR
#define GLASSBOX_SOURCE_DIR "."
#endif

namespace lesson {

inline std::string source_dir() { return GLASSBOX_SOURCE_DIR; }

// The first max_bytes bytes of tinyshakespeare (all of it by default).
inline std::string read_tinyshakespeare(size_t max_bytes = std::string::npos) {
  const std::string path = source_dir() + "/data/cache/tinyshakespeare/input.txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(
        "tinyshakespeare is missing: " + path +
        " not found. Run `data/fetch.sh tinyshakespeare` from the repository root"
        " (offline: GLASSBOX_DATA_MIRROR=/path/to/mirror data/fetch.sh tinyshakespeare)");
  }
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() < 1000000)
    throw std::runtime_error(path + " is truncated (" + std::to_string(text.size()) + " bytes)");
  if (max_bytes < text.size()) text.resize(max_bytes);
  return text;
}

}  // namespace lesson
