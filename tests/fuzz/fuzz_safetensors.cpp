// Fuzz harness for llm::SafeTensorsFile: any bytes must either parse or throw llm::Error, never
// crash, leak or hit undefined behaviour. Every tensor of a file that parses is also read as f64.
// Run by ctest (label fuzz) and tests/fuzz/run.sh; see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    llm::SafeTensorsFile file(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    for (const std::string& name : file.names()) {
      const llm::SafeTensorInfo& info = file.info(name);
      try {
        const std::vector<double> values = file.read_f64(name, info.shape);
        (void)values;
      } catch (const llm::Error&) {
        // not a float dtype: fine
      }
    }
  } catch (const llm::Error&) {
    // rejected with a message: the expected outcome for most inputs
  }
  return 0;
}
