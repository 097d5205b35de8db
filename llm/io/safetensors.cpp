// implements: llm::SafeTensorsFile, llm::write_safetensors (see safetensors.hpp for the format).
//
// Reading maps the file and validates it up front, the same checks Hugging Face's
// `safetensors` library makes: the header parses, every dtype is known, every byte range has
// exactly dtype_size x numel bytes, and the ranges tile the data section with no gap and no
// overlap.
#include "llm/io/safetensors.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/core/error.hpp"
#include "llm/io/atomic_file.hpp"

namespace llm {
namespace {

using nlohmann::json;

// Bytes per element of every dtype the safetensors format defines. Sub-byte dtypes are not
// supported.
int64_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, int64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? -1 : it->second;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

}  // namespace

SafeTensorsFile::SafeTensorsFile(const std::filesystem::path& path)
    : path_(path),
      mapped_(std::make_unique<MappedFile>(path, "safetensors file " + path.string() + ": ")) {
  data_ = mapped_->data();
  size_ = mapped_->size();
  parse();
}

SafeTensorsFile::SafeTensorsFile(std::vector<uint8_t> bytes, const std::filesystem::path& name)
    : path_(name), bytes_(std::move(bytes)) {
  data_ = bytes_.data();
  size_ = bytes_.size();
  parse();
}

void SafeTensorsFile::parse() {
  const std::string where = "safetensors file " + path_.string() + ": ";
  const uint64_t file_size = size_;
  check(file_size >= 8, where + "file is " + std::to_string(file_size) +
                            " bytes, shorter than the 8-byte header length");

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | data_[i];  // little-endian u64
  check(header_len <= file_size - 8, where + "header length " + std::to_string(header_len) +
                                         " runs past the end of the file (" +
                                         std::to_string(file_size) + " bytes)");
  data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - data_start_;

  json header;
  try {
    header = json::parse(data_ + 8, data_ + data_start_);
  } catch (const json::exception& e) {
    throw Error(where + "header is not valid JSON (" + e.what() + ")");
  }
  check(header.is_object(), where + "header is not a JSON object");

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      check(entry.is_object(), where + "__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        check(value.is_string(), where + "__metadata__ value of '" + key + "' is not a string");
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string at = where + "tensor '" + name + "': ";
    check(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
              entry.contains("data_offsets"),
          at + "entry needs dtype, shape and data_offsets");
    // Every number must be a JSON integer: nlohmann's get<int64_t>() of 1e300 or of -1.5 as
    // uint64_t is an out-of-range float conversion (undefined behaviour), found by fuzzing.
    const json& shape = entry.at("shape");
    const json& offsets = entry.at("data_offsets");
    check(entry.at("dtype").is_string(), at + "dtype is not a string");
    check(shape.is_array(), at + "shape is not an array");
    for (const json& d : shape)
      check(d.is_number_integer(), at + "shape " + shape.dump() + " holds a non-integer");
    check(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
              offsets[1].is_number_unsigned(),
          at + "data_offsets " + offsets.dump() + " is not two non-negative integers");
    SafeTensorInfo info;
    info.dtype = entry.at("dtype").get<std::string>();
    info.shape = shape.get<std::vector<int64_t>>();
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    const int64_t element_size = safetensors_dtype_size(info.dtype);
    check(element_size > 0, at + "unknown dtype '" + info.dtype + "'");
    // numel x element size in checked arithmetic: a shape like [2^40, 2^40] must not wrap around to
    // a byte count that happens to fit (it was a signed overflow).
    int64_t nbytes = element_size;
    for (int64_t d : info.shape) {
      check(d >= 0, at + "negative dimension in shape " + shape_str(info.shape));
      check(!__builtin_mul_overflow(nbytes, d, &nbytes),
            at + "shape " + shape_str(info.shape) + " is too large (its byte size overflows)");
    }
    check(info.begin <= info.end, at + "data_offsets [" + std::to_string(info.begin) + ", " +
                                      std::to_string(info.end) + "] run backwards");
    const uint64_t expected = static_cast<uint64_t>(nbytes);
    check(info.end - info.begin == expected,
          at + "shape " + shape_str(info.shape) + " x " + info.dtype + " needs " +
              std::to_string(expected) + " bytes but data_offsets [" + std::to_string(info.begin) +
              ", " + std::to_string(info.end) + "] hold " + std::to_string(info.end - info.begin));
    check(info.end <= data_size, at + "data_offsets [" + std::to_string(info.begin) + ", " +
                                     std::to_string(info.end) + "] run past the end of the data (" +
                                     std::to_string(data_size) + " bytes)");
    tensors_[name] = std::move(info);
  }

  // The ranges must tile [0, data_size): sort by begin and walk them.
  std::vector<std::pair<std::string, const SafeTensorInfo*>> order;
  for (const auto& [name, info] : tensors_) order.emplace_back(name, &info);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->begin != b.second->begin ? a.second->begin < b.second->begin
                                              : a.second->end < b.second->end;
  });
  uint64_t covered = 0;
  std::string previous = "(start of data)";
  for (const auto& [name, info] : order) {
    check(info->begin >= covered, where + "tensor '" + name + "' overlaps '" + previous +
                                      "' (begins at byte " + std::to_string(info->begin) +
                                      ", before " + std::to_string(covered) + ")");
    check(info->begin == covered, where + "gap in the data: bytes [" + std::to_string(covered) +
                                      ", " + std::to_string(info->begin) +
                                      ") belong to no tensor (before '" + name + "')");
    covered = info->end;
    previous = name;
  }
  check(covered == data_size,
        where + "tensors do not cover the data: " + std::to_string(data_size - covered) +
            " bytes after the last tensor belong to no tensor");
}

bool SafeTensorsFile::contains(const std::string& name) const { return tensors_.count(name) > 0; }

const SafeTensorInfo& SafeTensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  check(it != tensors_.end(),
        "safetensors file " + path_.string() + ": no tensor named '" + name + "'");
  return it->second;
}

std::vector<std::string> SafeTensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

const uint8_t* SafeTensorsFile::raw(const std::string& name) const {
  return data_ + data_start_ + info(name).begin;
}

namespace {

// Shared by read_f32 / read_f64: the shape check and the dtype check.
const SafeTensorInfo& checked_float_tensor(const SafeTensorsFile& file,
                                           const std::filesystem::path& path,
                                           const std::string& name,
                                           const std::vector<int64_t>& expected_shape) {
  const SafeTensorInfo& info = file.info(name);
  check(info.shape == expected_shape, "safetensors file " + path.string() + ": tensor '" + name +
                                          "' has shape " + shape_str(info.shape) + ", expected " +
                                          shape_str(expected_shape));
  check(info.dtype == "F32" || info.dtype == "F64" || info.dtype == "BF16" || info.dtype == "F16",
        "safetensors file " + path.string() + ": tensor '" + name + "' has dtype " + info.dtype +
            ", not a float type (F32, F64, BF16, F16)");
  return info;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

StoredTensor SafeTensorsFile::stored(const std::string& name,
                                     const std::vector<int64_t>& expected_shape) const {
  const SafeTensorInfo& info = checked_float_tensor(*this, path_, name, expected_shape);
  StoredTensor out;
  out.bytes = raw(name);
  out.dtype = info.dtype == "F32"   ? StoredDType::f32
              : info.dtype == "F64" ? StoredDType::f64
              : info.dtype == "F16" ? StoredDType::f16
                                    : StoredDType::bf16;
  out.cols = info.shape.empty() ? 1 : info.shape.back();
  out.rows = out.cols == 0 ? 0 : numel_of(info.shape) / out.cols;
  out.where = "safetensors file " + path_.string() + ": tensor '" + name + "'";
  if (mapped_)
    out.release = [file = mapped_.get()](const uint8_t* begin, size_t n) {
      file->release(begin, n);
    };
  return out;
}

std::vector<float> SafeTensorsFile::read_f32(const std::string& name,
                                             const std::vector<int64_t>& expected_shape) const {
  std::vector<float> out(size_t(numel_of(expected_shape)));
  convert_stored(out.data(), DType::f32, stored(name, expected_shape), /*transpose=*/false);
  return out;
}

std::vector<double> SafeTensorsFile::read_f64(const std::string& name,
                                              const std::vector<int64_t>& expected_shape) const {
  std::vector<double> out(size_t(numel_of(expected_shape)));
  convert_stored(out.data(), DType::f64, stored(name, expected_shape), /*transpose=*/false);
  return out;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<SafeTensorSource>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string where = "writing safetensors file " + path.string() + ": ";
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const SafeTensorSource& t : tensors) {
    check(t.name != "__metadata__", where + "'__metadata__' is not a valid tensor name");
    check(!header.contains(t.name), where + "tensor '" + t.name + "' given twice");
    const int64_t element_size = safetensors_dtype_size(t.dtype);
    check(element_size > 0, where + "tensor '" + t.name + "': unknown dtype '" + t.dtype + "'");
    const uint64_t bytes = static_cast<uint64_t>(numel_of(t.shape) * element_size);
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    sizes.push_back(bytes);
  }
  // Pad the JSON with spaces so the data section starts 8-byte aligned, as Hugging Face does.
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));

  // Write everything to path.tmp, flush it to disk, then rename over the final name. Each tensor's
  // bytes go straight from its source to the file; a source that hands over more or fewer bytes
  // than its shape needs would shift every later tensor, so that is checked as it happens.
  AtomicFile file(path, where);
  file.write(length, sizeof length);
  file.write(text.data(), text.size());
  for (size_t i = 0; i < tensors.size(); i++) {
    const SafeTensorSource& t = tensors[i];
    uint64_t written = 0;
    t.write_bytes([&](const void* data, size_t bytes) {
      written += bytes;
      check(written <= sizes[i], where + "tensor '" + t.name + "': shape " + shape_str(t.shape) +
                                     " x " + t.dtype + " needs " + std::to_string(sizes[i]) +
                                     " bytes, got more");
      file.write(data, bytes);
    });
    check(written == sizes[i], where + "tensor '" + t.name + "': shape " + shape_str(t.shape) +
                                   " x " + t.dtype + " needs " + std::to_string(sizes[i]) +
                                   " bytes, got " + std::to_string(written));
  }
  file.commit();
}

void write_safetensors(const std::filesystem::path& path, const std::vector<SafeTensorOut>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafeTensorSource> sources;
  for (const SafeTensorOut& t : tensors)
    sources.push_back({t.name, t.dtype, t.shape,
                       [&t](const ByteSink& sink) { sink(t.bytes.data(), t.bytes.size()); }});
  write_safetensors(path, sources, metadata);
}

SafeTensorOut gather_bytes(const SafeTensorSource& source) {
  SafeTensorOut out{source.name, source.dtype, source.shape, {}};
  source.write_bytes([&](const void* data, size_t bytes) {
    const auto* p = static_cast<const uint8_t*>(data);
    out.bytes.insert(out.bytes.end(), p, p + bytes);
  });
  return out;
}

SafeTensorOut safetensor_f32(std::string name, std::vector<int64_t> shape, const float* data) {
  SafeTensorOut out{std::move(name), "F32", std::move(shape), {}};
  out.bytes.resize(static_cast<size_t>(numel_of(out.shape)) * 4);
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), data, out.bytes.size());
  return out;
}

SafeTensorOut safetensor_f64(std::string name, std::vector<int64_t> shape, const double* data) {
  SafeTensorOut out{std::move(name), "F64", std::move(shape), {}};
  out.bytes.resize(static_cast<size_t>(numel_of(out.shape)) * 8);
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), data, out.bytes.size());
  return out;
}

}  // namespace llm
