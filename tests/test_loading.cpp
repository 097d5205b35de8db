// Loading tensors from files: each file dtype converted to each tensor dtype against hand-computed
// values, the blocked transpose against the plain one, and a NaN or infinity in every format a
// checkpoint comes in (glassbox checkpoint, Hugging Face F16, llm.c .bin, AdamW moments) refused
// with one line naming the file and the tensor. Saving: tensors streamed in pieces against the
// plain computation, and load/save round trips bit-identical.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "llm/backend/host_copy.hpp"
#include "llm/core/bf16.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/llmc_checkpoint.hpp"
#include "llm/io/stored_tensor.hpp"
#include "llm/io/tensor_stream.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/trainer.hpp"
#include "test_inputs.hpp"
#include "train_fixture.hpp"

using test_inputs::error_of;
namespace fs = std::filesystem;
using namespace llm;

namespace {

template <typename T> std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

StoredTensor stored(const std::vector<uint8_t>& bytes, StoredDType dtype, int64_t rows,
                    int64_t cols) {
  StoredTensor s;
  s.bytes = bytes.data();
  s.dtype = dtype;
  s.rows = rows;
  s.cols = cols;
  s.where = "test file: tensor 'x'";
  return s;
}

template <typename Out>
std::vector<Out> convert(const StoredTensor& s, DType dtype, bool transpose = false) {
  std::vector<Out> out(size_t(s.rows * s.cols));
  convert_stored(out.data(), dtype, s, transpose);
  return out;
}

// One line that names the file and the tensor and says what is wrong.
void check_names(const std::string& message, const std::string& file, const std::string& tensor) {
  INFO(message);
  CHECK(message.find(file) != std::string::npos);
  CHECK(message.find(tensor) != std::string::npos);
  CHECK(message.find("non-finite") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

GPTConfig tiny_config() {
  GPTConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.max_seq_len = 8;
  c.vocab_size = 11;
  return c;
}

}  // namespace

TEST_CASE("F16 values convert exactly: normal, subnormal, largest, signed") {
  // 1, -2, 2^-24 (the smallest subnormal), 65504 (the largest finite), 0x3555 = 1365/4096, -0
  const std::vector<uint16_t> bits = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x3555, 0x8000};
  const std::vector<double> expected = {1.0, -2.0, std::ldexp(1.0, -24), 65504.0, 1365.0 / 4096.0,
                                        -0.0};
  const auto b = bytes_of(bits);
  const auto f32 = convert<float>(stored(b, StoredDType::f16, 1, 6), DType::f32);
  const auto f64 = convert<double>(stored(b, StoredDType::f16, 1, 6), DType::f64);
  for (size_t i = 0; i < expected.size(); i++) {
    CHECK(f32[i] == float(expected[i]));
    CHECK(f64[i] == expected[i]);
  }
  CHECK(std::signbit(f32[5]));
}

TEST_CASE("BF16 values convert exactly, and f32 rounds to bf16 to nearest even") {
  const std::vector<uint16_t> bits = {0x3F80, 0xC040, 0x3EAB};  // 1, -3, 0.333984375
  const auto b = bytes_of(bits);
  CHECK(convert<float>(stored(b, StoredDType::bf16, 1, 3), DType::f32) ==
        std::vector<float>{1.0f, -3.0f, 0.333984375f});
  CHECK(convert<uint16_t>(stored(b, StoredDType::bf16, 1, 3), DType::bf16) ==
        bits);  // bf16 -> bf16 unchanged
  // 1 + 2^-8 lies halfway between bf16's 1 and 1 + 2^-7: ties to even gives 1 (0x3F80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even gives 0x3F82.
  const auto f =
      bytes_of(std::vector<float>{1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8)});
  CHECK(convert<uint16_t>(stored(f, StoredDType::f32, 1, 2), DType::bf16) ==
        std::vector<uint16_t>{0x3F80, 0x3F82});
}

TEST_CASE("F64 values round to f32 and stay exact in f64; F32 is copied bit for bit") {
  const std::vector<double> values = {0.1, -1.0 / 3.0, 1e-300, 12345.678901234};
  const auto b = bytes_of(values);
  const auto f32 = convert<float>(stored(b, StoredDType::f64, 2, 2), DType::f32);
  const auto f64 = convert<double>(stored(b, StoredDType::f64, 2, 2), DType::f64);
  for (size_t i = 0; i < values.size(); i++) {
    CHECK(f32[i] == static_cast<float>(values[i]));
    CHECK(f64[i] == values[i]);
  }
  const std::vector<float> floats = {0.1f, -0.0f, 3.4e38f, 1e-45f};
  CHECK(bytes_of(convert<float>(stored(bytes_of(floats), StoredDType::f32, 1, 4), DType::f32)) ==
        bytes_of(floats));
}

TEST_CASE(
    "the blocked transpose equals the plain one, for shapes that are not multiples of the block") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2, 3}, {37, 70}, {64, 33}, {1, 5}}) {
    std::vector<float> x(size_t(rows * cols));
    for (size_t i = 0; i < x.size(); i++) x[i] = float(i) * 0.5f - 7.0f;
    const auto b = bytes_of(x);
    const auto y =
        convert<float>(stored(b, StoredDType::f32, rows, cols), DType::f32, /*transpose=*/true);
    std::vector<float> expected(x.size());
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < cols; c++) expected[size_t(c * rows + r)] = x[size_t(r * cols + c)];
    CHECK(y == expected);
  }
}

TEST_CASE("a tensor of several chunks, converted by all threads, equals the plain conversion") {
  // 700 x 1000 f32 values are 2.8 MB of file: three chunks of about 1 MiB, converted side by side.
  const int64_t rows = 700, cols = 1000;
  std::vector<float> x(size_t(rows * cols));
  for (size_t i = 0; i < x.size(); i++) x[i] = float(i % 9973) * 0.25f - 1000.0f;
  const auto b = bytes_of(x);
  std::vector<float> transposed(x.size());
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) transposed[size_t(c * rows + r)] = x[size_t(r * cols + c)];
  StoredTensor s = stored(b, StoredDType::f32, rows, cols);
  std::atomic<size_t> released{0};
  s.release = [&](const uint8_t*, size_t n) { released += n; };
  CHECK(convert<float>(s, DType::f32) == x);
  CHECK(released == b.size());  // every byte handed back once
  CHECK(convert<float>(s, DType::f32, /*transpose=*/true) == transposed);
  std::vector<uint16_t> as_bf16(x.size());
  for (size_t i = 0; i < x.size(); i++) as_bf16[i] = float_to_bf16(x[i]);
  CHECK(convert<uint16_t>(s, DType::bf16) == as_bf16);

  // NaNs in the second and third chunks: the error names the first of them, as a serial pass would.
  x[size_t(600 * cols + 5)] = std::nanf("");
  x[size_t(300 * cols + 7)] = std::numeric_limits<float>::infinity();
  const auto bad = bytes_of(x);
  for (bool transpose : {false, true}) {
    const std::string message = error_of(
        [&] { convert<float>(stored(bad, StoredDType::f32, rows, cols), DType::f32, transpose); });
    INFO(message);
    CHECK(message.find("row 300, column 7") != std::string::npos);
  }
}

TEST_CASE("a NaN or infinity in any file dtype is refused, naming the element") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  const auto f32 = bytes_of(std::vector<float>{1, 2, 3, 4, nan, 6});
  const auto f64 = bytes_of(std::vector<double>{1, 2, 3, 4, 5, -double(inf)});
  const auto f64_big = bytes_of(std::vector<double>{1e300});          // finite, but not as an f32
  const auto f16 = bytes_of(std::vector<uint16_t>{0x3C00, 0x7C00});   // 1, +inf
  const auto bf16 = bytes_of(std::vector<uint16_t>{0x7FC0, 0x3C00});  // NaN, 1/128
  CHECK(error_of([&] {
          convert<float>(stored(f32, StoredDType::f32, 2, 3), DType::f32);
        }).find("row 1, column 1") != std::string::npos);
  CHECK(error_of([&] {
          convert<float>(stored(f32, StoredDType::f32, 2, 3), DType::f32, true);
        }).find("(nan)") != std::string::npos);
  CHECK(error_of([&] {
          convert<double>(stored(f64, StoredDType::f64, 2, 3), DType::f64);
        }).find("(-inf)") != std::string::npos);
  CHECK(error_of([&] {
          convert<float>(stored(f64_big, StoredDType::f64, 1, 1), DType::f32);
        }).find("non-finite") != std::string::npos);
  CHECK(error_of([&] { convert<double>(stored(f64_big, StoredDType::f64, 1, 1), DType::f64); }) ==
        "(no error)");
  CHECK(error_of([&] {
          convert<float>(stored(f16, StoredDType::f16, 1, 2), DType::f32);
        }).find("element 1 ") != std::string::npos);
  CHECK(error_of([&] {
          convert<uint16_t>(stored(bf16, StoredDType::bf16, 1, 2), DType::bf16);
        }).find("element 0 ") != std::string::npos);
}

TEST_CASE("a glassbox checkpoint with a NaN weight is refused, naming the file and the tensor") {
  const fs::path dir = test_inputs::fresh_dir("loading_ckpt");
  auto backend = make_cpu_backend();
  GPT model(tiny_config(), *backend);
  model.init_weights(1);
  std::vector<double> w = tensor_to_host_f64(*backend, model.params.lnfw);
  w[3] = std::nan("");
  tensor_from_host_f64(*backend, model.params.lnfw, w);
  save_model_checkpoint(dir / "ckpt", model, nullptr);
  GPT loaded(tiny_config(), *backend);
  check_names(error_of([&] { load_model_weights(dir / "ckpt", loaded); }),
              (dir / "ckpt" / "model.safetensors").string(), "'transformer.ln_f.weight'");
}

TEST_CASE("an HF F16 file with an infinity or a NaN is refused, naming the file and the tensor") {
  // F16 bits: exponent all ones (0x7C00) with a zero mantissa is +inf, with any other is a NaN.
  for (uint16_t bad : {uint16_t(0x7C00), uint16_t(0x7E00)}) {
    CAPTURE(bad);
    const fs::path dir = test_inputs::fresh_dir("loading_hf");
    auto backend = make_cpu_backend();
    GPT model(tiny_config(), *backend);
    model.init_weights(2);
    std::vector<SafeTensorOut> tensors = export_hf_tensors(model.params, *backend);
    for (SafeTensorOut& t : tensors) {  // every tensor as F16 ones, one bad value in layer 1's c_fc
      std::vector<uint16_t> half(t.bytes.size() / 4, 0x3C00);
      if (t.name == "transformer.h.1.mlp.c_fc.weight") half[5] = bad;
      t = SafeTensorOut{t.name, "F16", t.shape, bytes_of(half)};
    }
    write_model_config(dir / "config.json", tiny_config());
    write_safetensors(dir / "model.safetensors", tensors);
    GPT loaded(tiny_config(), *backend);
    check_names(error_of([&] { load_model_weights(dir, loaded); }),
                (dir / "model.safetensors").string(), "'transformer.h.1.mlp.c_fc.weight'");
  }
}

TEST_CASE("an llm.c file with a NaN is refused, naming the file and the tensor") {
  const fs::path dir = test_inputs::fresh_dir("loading_llmc");
  auto backend = make_cpu_backend();
  GPT model(tiny_config(), *backend);
  model.init_weights(3);
  write_llmc_checkpoint(dir / "model.bin", model);
  {  // the first value of wpe, which follows wte (Vp x C floats) after the 1024-byte header
    std::fstream file(dir / "model.bin", std::ios::in | std::ios::out | std::ios::binary);
    const GPTConfig c = tiny_config();
    file.seekp(1024 + std::streamoff(c.padded_vocab_size()) * c.n_embd * 4);
    const float nan = std::nanf("");
    file.write(reinterpret_cast<const char*>(&nan), 4);
  }
  GPT loaded(tiny_config(), *backend);
  check_names(error_of([&] { load_llmc_weights(dir / "model.bin", loaded); }),
              (dir / "model.bin").string(), "tensor wpe");
}

TEST_CASE(
    "a NaN in the AdamW moments stops --resume, naming train_state.safetensors and the tensor") {
  const fs::path root = test_inputs::fresh_dir("loading_resume");
  const fs::path data = train_fixture::make_dataset(root);
  TrainConfig c = train_fixture::tiny_run(data, root / "run");
  c.max_steps = 2;
  train(c);
  const fs::path state = root / "run" / "checkpoint" / "train_state.safetensors";
  {  // rewrite the state with one NaN in v of layer 0's fcw
    const SafeTensorsFile file(state);
    std::vector<SafeTensorOut> tensors;
    for (const std::string& name : file.names()) {
      std::vector<float> values = file.read_f32(name, file.info(name).shape);
      if (name == "v.fcw") values[7] = std::nanf("");
      tensors.push_back(safetensor_f32(name, file.info(name).shape, values.data()));
    }
    write_safetensors(state, tensors);
  }
  TrainConfig resume = train_fixture::tiny_run(data, root / "run");
  resume.resume = true;
  resume.extend = true;
  check_names(error_of([&] { train(resume); }), state.string(), "'v.fcw'");
}

namespace {

// What stream_tensor_values must hand over, computed the plain way: element (r, c) of the first
// rows x cols values, at r * cols + c, or at c * rows + r when transposed, as FileValue.
template <typename FileValue> std::vector<FileValue> expected_values(const std::vector<double>& x,
                                                                     int64_t rows, int64_t cols,
                                                                     bool transpose) {
  std::vector<FileValue> out(size_t(rows * cols));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      out[size_t(transpose ? c * rows + r : r * cols + c)] = FileValue(x[size_t(r * cols + c)]);
  return out;
}

template <typename FileValue> std::vector<FileValue> streamed_values(Backend& backend, Tensor t,
                                                                     int64_t rows, int64_t cols,
                                                                     bool transpose, int* pieces) {
  std::vector<uint8_t> bytes;
  stream_tensor_values(backend, t, rows, cols, dtype_of<FileValue>(), transpose,
                       [&](const void* data, size_t n) {
                         const auto* p = static_cast<const uint8_t*>(data);
                         bytes.insert(bytes.end(), p, p + n);
                         ++*pieces;
                       });
  std::vector<FileValue> out(bytes.size() / sizeof(FileValue));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace

TEST_CASE(
    "saving streams a tensor in pieces: every dtype, plain and transposed, padding left out") {
  // (1300, 1000) values: 4.8 MB of f32 written, so more than one 4 MiB piece; the last 100 rows
  // stand for wte's padding rows and are left out.
  const int64_t rows = 1200, cols = 1000, stored_rows = 1300;
  for (DType dtype : {DType::f32, DType::f64, DType::bf16}) {
    const std::string name = dtype_name(dtype);
    CAPTURE(name);
    auto backend = make_cpu_backend(dtype == DType::f64 ? DType::f64 : DType::f32);
    FlatBuffer buffer(*backend, dtype, stored_rows * cols);
    const Tensor t = buffer.tensor.reshape(Shape{stored_rows, cols});
    std::vector<double> x = test_inputs::randn(size_t(stored_rows * cols), 41);
    tensor_from_host_f64(*backend, t, x);
    x = tensor_to_host_f64(*backend, t);  // as the tensor holds them (bf16 rounded)
    for (bool transpose : {false, true}) {
      CAPTURE(transpose);
      int pieces = 0;
      CHECK(streamed_values<float>(*backend, t, rows, cols, transpose, &pieces) ==
            expected_values<float>(x, rows, cols, transpose));
      CHECK(pieces > 1);
      if (dtype == DType::f64)
        CHECK(streamed_values<double>(*backend, t, rows, cols, transpose, &pieces) ==
              expected_values<double>(x, rows, cols, transpose));
    }
  }
  auto backend = make_cpu_backend(DType::f32);
  FlatBuffer buffer(*backend, DType::f32, 16);
  CHECK(error_of([&] {
          stream_tensor_values(*backend, buffer.tensor, 4, 4, DType::f64, false,
                               [](const void*, size_t) {});
        }).find("F64") != std::string::npos);
}

TEST_CASE("checkpoints are bit-identical after a load/save round trip (f32, f64, llm.c .bin)") {
  const fs::path dir = test_inputs::fresh_dir("loading_round_trip");
  auto file_bytes = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  };
  for (DType dtype : {DType::f32, DType::f64}) {
    const std::string name = dtype_name(dtype);
    CAPTURE(name);
    auto backend = make_cpu_backend(dtype);
    GPT model(tiny_config(), *backend);
    model.init_weights(5);
    save_model_checkpoint(dir / "a", model, nullptr);
    write_llmc_checkpoint(dir / "a.bin", model);
    // The file holds the weights in HF's names and layout, element for element.
    const SafeTensorsFile file(dir / "a" / "model.safetensors");
    const std::vector<double> fcw = tensor_to_host_f64(*backend, model.params.fcw.slice(1));
    const int64_t C = tiny_config().n_embd;
    const std::vector<double> stored = file.read_f64("transformer.h.1.mlp.c_fc.weight", {C, 4 * C});
    CHECK(stored == expected_values<double>(fcw, 4 * C, C, /*transpose=*/true));

    GPT loaded(tiny_config(), *backend);
    load_model_weights(dir / "a", loaded);
    save_model_checkpoint(dir / "b", loaded, nullptr);
    CHECK(file_bytes(dir / "a" / "model.safetensors") ==
          file_bytes(dir / "b" / "model.safetensors"));
    GPT from_bin(tiny_config(), *backend);
    load_llmc_weights(dir / "a.bin", from_bin);
    write_llmc_checkpoint(dir / "b.bin", from_bin);
    CHECK(file_bytes(dir / "a.bin") == file_bytes(dir / "b.bin"));
    if (dtype == DType::f32)
      CHECK(tensor_to_host_f64(*backend, from_bin.params.wte) ==
            tensor_to_host_f64(*backend, model.params.wte));
  }
}
