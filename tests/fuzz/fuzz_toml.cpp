// Fuzz harness for TOML config files (llm/io/toml_file.cpp): any file must either give settings or
// throw llm::Error, whose message is one line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llm/core/error.hpp"
#include "llm/io/toml_file.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz_scratch::write_file("config.toml", data, size);
  try {
    for (const llm::TomlSetting& s : llm::read_toml_settings(path))
      if (s.key.empty() || s.line < 1) __builtin_trap();
  } catch (const llm::Error& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) __builtin_trap();  // one line
  }
  return 0;
}
