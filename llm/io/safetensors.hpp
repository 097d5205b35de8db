#pragma once
// defines: llm::SafeTensorsFile (reader), llm::write_safetensors (writer)
//
// The safetensors format (Hugging Face): 8 bytes little-endian header length n, n bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm/core/tensor.hpp"
#include "llm/io/mapped_file.hpp"
#include "llm/io/stored_tensor.hpp"
#include "llm/io/tensor_stream.hpp"

namespace llm {

struct SafeTensorInfo {
  std::string dtype;  // "F32", "F64", "BF16", "F16", "I32", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the data section
};

class SafeTensorsFile {
 public:
  // Maps the file and validates it: the header must parse, every range must lie inside the file and
  // match dtype x shape. Throws llm::Error naming the file and the problem. The tensors' bytes are
  // read only when a tensor is (stored(), read_f32(), ...).
  explicit SafeTensorsFile(const std::filesystem::path& path);
  // The same checks on a file's bytes already in memory (fuzzing); `name` stands for the path.
  SafeTensorsFile(std::vector<uint8_t> bytes, const std::filesystem::path& name);

  bool contains(const std::string& name) const;
  const SafeTensorInfo& info(const std::string& name) const;  // throws naming a missing tensor
  std::vector<std::string> names() const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

  // A float tensor (F32, F64, BF16 or F16) ready for load_stored_tensor(), after checking its shape
  // equals `expected_shape`; throws naming the file, the tensor and both shapes otherwise. Rows are
  // the leading dimensions, columns the last. Converting it gives the file's pages back.
  StoredTensor stored(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  // The tensor converted to f32 (from F32, F64, BF16 or F16), after checking its shape equals
  // `expected_shape`; throws naming the file, the tensor and both shapes otherwise.
  std::vector<float> read_f32(const std::string& name,
                              const std::vector<int64_t>& expected_shape) const;
  // Same for f64 (used by double-precision tests). Both check every value finite, as stored() does.
  std::vector<double> read_f64(const std::string& name,
                               const std::vector<int64_t>& expected_shape) const;
  // Raw bytes of a tensor as stored.
  const uint8_t* raw(const std::string& name) const;

 private:
  void parse();  // validates bytes_ and fills tensors_, metadata_

  std::filesystem::path path_;
  std::unique_ptr<MappedFile> mapped_;  // the file, or
  std::vector<uint8_t> bytes_;          // its bytes given in memory
  const uint8_t* data_ = nullptr;       // the whole file, from either
  size_t size_ = 0;
  size_t data_start_ = 0;
  std::map<std::string, SafeTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: host bytes of `dtype` ("F32", "F64", "I32", "BF16", ...) with `shape`.
struct SafeTensorOut {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// One tensor to write whose bytes are produced while the file is written, so that no copy of all
// the tensors is ever held: write_bytes(sink) hands exactly numel x dtype size bytes to sink, in
// order, in as many pieces as it likes (stream_tensor_values does, from a model's arena).
struct SafeTensorSource {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::function<void(const ByteSink& sink)> write_bytes;
};

// Writes the tensors (in the order given) to path. Writes to path + ".tmp" then renames, so a crash
// never leaves a half-written file under the final name.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<SafeTensorSource>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The same for tensors already in host memory.
void write_safetensors(const std::filesystem::path& path, const std::vector<SafeTensorOut>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// A source's bytes gathered in host memory (for tests that edit them before writing).
SafeTensorOut gather_bytes(const SafeTensorSource& source);

// Helpers to build SafeTensorOut from typed host data.
SafeTensorOut safetensor_f32(std::string name, std::vector<int64_t> shape, const float* data);
SafeTensorOut safetensor_f64(std::string name, std::vector<int64_t> shape, const double* data);

}  // namespace llm
