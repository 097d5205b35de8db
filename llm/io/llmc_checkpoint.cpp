// implements: llm.c model files (see llmc_checkpoint.hpp for the layout).
#include "llm/io/llmc_checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/io/atomic_file.hpp"
#include "llm/io/input_file.hpp"
#include "llm/io/mapped_file.hpp"
#include "llm/io/stored_tensor.hpp"
#include "llm/io/tensor_stream.hpp"

namespace llm {
namespace {

namespace fs = std::filesystem;

constexpr int kHeaderInts = 256;  // 1024 bytes

std::string where(const fs::path& path) { return "llm.c model file " + path.string() + ": "; }

// Number of parameters the file holds for a config, Vp rows of wte included (what visit() lays
// out). Computed in double first so that an absurd header cannot overflow the int64 count.
int64_t stored_parameters(const GPTConfig& c, const fs::path& path) {
  const double C = c.n_embd, L = c.n_layer;
  const double n =
      (double(c.padded_vocab_size()) + c.max_seq_len) * C + L * (12 * C * C + 13 * C) + 2 * C;
  check(n < 1e12, where(path) + "the header's shape would need " + std::to_string(n) +
                      " parameters (a corrupt header?)");
  const int64_t Ci = c.n_embd, Li = c.n_layer;
  return (int64_t(c.padded_vocab_size()) + c.max_seq_len) * Ci + Li * (12 * Ci * Ci + 13 * Ci) +
         2 * Ci;
}

}  // namespace

LlmcHeader read_llmc_header(const fs::path& path) {
  InputFile file(path, where(path));
  int32_t h[kHeaderInts];
  file.read_header(h, kHeaderInts);
  check(h[0] == kLlmcModelMagic, where(path) + "wrong magic number: expected " +
                                     std::to_string(kLlmcModelMagic) + ", found " +
                                     std::to_string(h[0]) + " (not an llm.c model file)");
  check(h[1] == kLlmcModelVersionF32 || h[1] == kLlmcModelVersionBF16,
        where(path) + "unknown version " + std::to_string(h[1]) + " (3 = fp32, 5 = bf16)");
  LlmcHeader out;
  out.version = h[1];
  out.bytes_per_param = h[1] == kLlmcModelVersionF32 ? 4 : 2;
  GPTConfig& c = out.config;
  c.max_seq_len = h[2];
  c.vocab_size = h[3];
  c.n_layer = h[4];
  c.n_head = h[5];
  c.n_embd = h[6];
  try {
    c.validate();
    // h[7] is Vp, which glassbox derives from V: a file padded any other way is not one we can map.
    check(h[7] == c.padded_vocab_size(), "padded vocab size " + std::to_string(h[7]) + " is not " +
                                             std::to_string(c.padded_vocab_size()) +
                                             " (vocab size " + std::to_string(c.vocab_size) +
                                             " rounded up to a multiple of 128)");
  } catch (const Error& e) { throw Error(where(path) + "bad header (" + e.what() + ")"); }
  const uint64_t expected =
      uint64_t(stored_parameters(c, path)) * uint64_t(out.bytes_per_param) + kHeaderInts * 4;
  check(file.size >= expected, where(path) + "truncated: the header's shape needs " +
                                   std::to_string(expected) + " bytes, the file has " +
                                   std::to_string(file.size));
  check(file.size == expected, where(path) + "size mismatch: the header's shape needs " +
                                   std::to_string(expected) + " bytes, the file has " +
                                   std::to_string(file.size));
  return out;
}

void load_llmc_weights(const fs::path& path, GPT& model) {
  const LlmcHeader header = read_llmc_header(path);
  const GPTConfig &a = header.config, &b = model.config();
  check(a.max_seq_len == b.max_seq_len && a.vocab_size == b.vocab_size &&
            a.padded_vocab_size() == b.padded_vocab_size() && a.n_layer == b.n_layer &&
            a.n_head == b.n_head && a.n_embd == b.n_embd,
        where(path) + "the file's shape differs from the model's");
  // The parameters follow the header back to back, in visit() order: each is converted straight
  // from the mapped file into its place.
  const MappedFile file(path, where(path));
  const StoredDType dtype =
      header.version == kLlmcModelVersionF32 ? StoredDType::f32 : StoredDType::bf16;
  size_t offset = kHeaderInts * 4;
  model.params.visit([&](const char* name, Tensor& t, Shape shape) {
    StoredTensor stored;
    stored.bytes = file.data() + offset;
    stored.dtype = dtype;
    stored.cols = shape.dims[shape.rank - 1];
    stored.rows = shape.numel() / stored.cols;
    stored.where = where(path) + "tensor " + name;
    stored.release = [&file](const uint8_t* begin, size_t n) { file.release(begin, n); };
    load_stored_tensor(model.backend(), t, stored, /*transpose=*/false);
    offset += size_t(shape.numel()) * stored_dtype_size(dtype);
  });
}

void write_llmc_checkpoint(const fs::path& path, GPT& model) {
  const GPTConfig& c = model.config();
  // The header has no field for the architecture switches: llm.c would read any other model as a
  // GPT-2 of the wrong weights.
  check(c.is_gpt2_architecture(),
        where(path) +
            "llm.c's model file holds GPT-2 only, and this model has other "
            "architecture switches (write a checkpoint directory instead)");
  int32_t h[kHeaderInts] = {};
  h[0] = kLlmcModelMagic;
  h[1] = kLlmcModelVersionF32;
  h[2] = c.max_seq_len;
  h[3] = c.vocab_size;
  h[4] = c.n_layer;
  h[5] = c.n_head;
  h[6] = c.n_embd;
  h[7] = c.padded_vocab_size();

  AtomicFile file(path, "writing " + where(path));
  file.write(h, sizeof h);
  // The parameters in the size table's order, which is llm.c's order, as f32, each streamed from
  // the model's arena.
  model.params.visit([&](const char*, Tensor& t, Shape) {
    stream_tensor_values(model.backend(), t, t.rows(), t.last_dim(), DType::f32,
                         /*transpose=*/false,
                         [&file](const void* data, size_t bytes) { file.write(data, bytes); });
  });
  file.commit();
}

}  // namespace llm
