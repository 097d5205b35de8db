// Weights from elsewhere: llm.c's model file (round trip, bf16, bad files), Hugging Face's own
// GPT-2 naming (no "transformer." prefix, attn.bias buffers, a tied lm_head, F16/BF16), HF
// config.json and HF tokenizer files. The numerical check against PyTorch is
// tests/reference/hf_import_check.py.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/json_file.hpp"
#include "llm/io/llmc_checkpoint.hpp"
#include "llm/io/safetensors.hpp"
#include "llm/io/safetensors_shards.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "test_inputs.hpp"

using test_inputs::error_of;
namespace fs = std::filesystem;
using namespace llm;

namespace {

GPTConfig small_config() {
  GPTConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.max_seq_len = 8;
  c.vocab_size = 50;
  return c;
}

// Every parameter of a model, in visit order, as host doubles.
std::vector<std::vector<double>> all_weights(GPT& model) {
  std::vector<std::vector<double>> out;
  model.params.visit([&](const char*, Tensor& t, Shape) {
    out.push_back(tensor_to_host_f64(model.backend(), t));
  });
  return out;
}

// A hand-written llm.c file: header ints (zero-padded to 256) then raw payload bytes.
void write_llmc_raw(const fs::path& path, std::vector<int32_t> header,
                    const std::vector<uint8_t>& payload) {
  header.resize(256, 0);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header.data()), 1024);
  out.write(reinterpret_cast<const char*>(payload.data()), std::streamsize(payload.size()));
}

std::vector<int32_t> llmc_header(const GPTConfig& c, int version) {
  return {kLlmcModelMagic, version,  c.max_seq_len, c.vocab_size,
          c.n_layer,       c.n_head, c.n_embd,      c.padded_vocab_size()};
}

int64_t stored_count(const GPTConfig& c) {
  const int64_t C = c.n_embd, L = c.n_layer;
  return (int64_t(c.padded_vocab_size()) + c.max_seq_len) * C + L * (12 * C * C + 13 * C) + 2 * C;
}

}  // namespace

TEST_CASE("llm.c model file: write then read gives identical weights") {
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = small_config();
  GPT a(config, *backend);
  a.init_weights(7);
  const fs::path path = test_inputs::fresh_dir("import_llmc") / "model.bin";
  write_llmc_checkpoint(path, a);
  CHECK(fs::file_size(path) == uint64_t(1024 + 4 * stored_count(config)));
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));

  const LlmcHeader header = read_llmc_header(path);
  CHECK(header.version == 3);
  CHECK(header.config.n_layer == 2);
  CHECK(header.config.n_head == 2);
  CHECK(header.config.n_embd == 16);
  CHECK(header.config.max_seq_len == 8);
  CHECK(header.config.vocab_size == 50);
  CHECK(header.config.padded_vocab_size() == 128);
  GPT b(header.config, *backend);
  load_llmc_weights(path, b);
  CHECK(all_weights(a) == all_weights(b));

  // The payload is our parameter arena in visit order: the first floats are wte[0, :].
  std::ifstream in(path, std::ios::binary);
  in.seekg(1024);
  float first[3];
  in.read(reinterpret_cast<char*>(first), sizeof first);
  const auto wte = tensor_to_host_f64(*backend, a.params.wte);
  CHECK(first[0] == float(wte[0]));
  CHECK(first[2] == float(wte[2]));

  // And it survives the trip through a checkpoint directory (HF layout) and back to .bin.
  const fs::path ckpt = path.parent_path() / "ckpt";
  save_model_checkpoint(ckpt, b, nullptr);
  GPT c(read_checkpoint_config(ckpt), *backend);
  load_model_weights(ckpt, c);
  write_llmc_checkpoint(path.parent_path() / "again.bin", c);
  std::ifstream x(path, std::ios::binary), y(path.parent_path() / "again.bin", std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(x), {}) ==
        std::string(std::istreambuf_iterator<char>(y), {}));
}

TEST_CASE("llm.c model file: version 5 (bf16) reads as the bf16 values widened") {
  const GPTConfig config = small_config();
  const int64_t n = stored_count(config);
  // Value i is (i % 61 - 30) / 64: exact in bf16 (few mantissa bits), distinct along each tensor.
  std::vector<uint8_t> payload(size_t(n) * 2);
  for (int64_t i = 0; i < n; i++) {
    const float v = float(i % 61 - 30) / 64.0f;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    const uint16_t top = uint16_t(bits >> 16);
    std::memcpy(&payload[size_t(i) * 2], &top, 2);
  }
  const fs::path path = test_inputs::fresh_dir("import_bf16") / "model_bf16.bin";
  write_llmc_raw(path, llmc_header(config, 5), payload);
  const LlmcHeader header = read_llmc_header(path);
  CHECK(header.version == 5);
  CHECK(header.bytes_per_param == 2);
  auto backend = make_cpu_backend(DType::f32);
  GPT model(header.config, *backend);
  load_llmc_weights(path, model);
  int64_t i = 0;
  bool all_equal = true;
  for (const auto& tensor : all_weights(model))
    for (double v : tensor) all_equal = all_equal && v == double(i++ % 61 - 30) / 64.0;
  CHECK(i == n);
  CHECK(all_equal);

  // A double-precision model reads the same file.
  auto backend64 = make_cpu_backend(DType::f64);
  GPT model64(header.config, *backend64);
  load_llmc_weights(path, model64);
  CHECK(all_weights(model64) == all_weights(model));
}

TEST_CASE("llm.c model file: bad files give one-line errors naming the file") {
  const GPTConfig config = small_config();
  const fs::path dir = test_inputs::fresh_dir("import_llmc_bad");
  const size_t exact = size_t(stored_count(config)) * 4;
  const std::vector<uint8_t> payload(exact + 8, 0);
  auto error_for = [&](const std::string& name, std::vector<int32_t> header, size_t payload_bytes) {
    const fs::path path = dir / name;
    write_llmc_raw(
        path, std::move(header),
        std::vector<uint8_t>(payload.begin(), payload.begin() + std::ptrdiff_t(payload_bytes)));
    const std::string message = error_of([&] { read_llmc_header(path); });
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    return message;
  };
  std::vector<int32_t> h = llmc_header(config, 3);
  CHECK(error_of([&] { read_llmc_header(dir / "missing.bin"); }).find("no such file") !=
        std::string::npos);
  {
    std::ofstream(dir / "short.bin") << "GPT";
    CHECK(error_of([&] {
            read_llmc_header(dir / "short.bin");
          }).find("shorter than the 1024-byte header") != std::string::npos);
  }
  auto bad_magic = h;
  bad_magic[0] = 20240520;  // a token shard's magic
  CHECK(error_for("magic.bin", bad_magic, exact).find("wrong magic number") != std::string::npos);
  auto bad_version = h;
  bad_version[1] = 4;
  CHECK(error_for("version.bin", bad_version, exact).find("unknown version 4") !=
        std::string::npos);
  CHECK(error_for("truncated.bin", h, exact - 4).find("truncated") != std::string::npos);
  CHECK(error_for("long.bin", h, exact + 8).find("size mismatch") != std::string::npos);
  write_llmc_raw(dir / "good.bin", h, std::vector<uint8_t>(exact, 0));
  CHECK(read_llmc_header(dir / "good.bin").config.n_embd == 16);
  auto bad_shape = h;
  bad_shape[5] = 3;  // 16 channels do not split into 3 heads
  CHECK(error_for("heads.bin", bad_shape, exact).find("divisible") != std::string::npos);
  auto huge = h;
  huge[6] = 1 << 30;  // C = 2^30: the size must not overflow into something that "fits"
  huge[5] = 1;
  CHECK(error_for("huge.bin", huge, exact).find("corrupt header") != std::string::npos);
  auto padded = h;
  padded[7] = 64;  // Vp is derived (V = 50 rounds up to 128): another padding is refused
  CHECK(error_for("padded.bin", padded, exact).find("padded vocab size 64 is not 128") !=
        std::string::npos);
  auto bf16_size = h;
  bf16_size[1] = 5;  // an fp32 payload under a bf16 header is twice too long
  CHECK(error_for("bf16size.bin", bf16_size, exact).find("size mismatch") != std::string::npos);

  // A model of another shape refuses the file.
  auto backend = make_cpu_backend(DType::f32);
  GPTConfig other = config;
  other.n_layer = 1;
  GPT model(other, *backend);
  CHECK(error_of([&] {
          load_llmc_weights(dir / "good.bin", model);
        }).find("differs from the model") != std::string::npos);
}

TEST_CASE("Hugging Face Llama layout: save then load is bit-identical, q/k/v and gate/up split") {
  auto backend = make_cpu_backend(DType::f32);
  GPTConfig c = small_config();
  c.n_head = 4, c.n_kv_head = 2, c.mlp_hidden = 24;
  c.norm = "rmsnorm", c.position = "rope", c.mlp = "swiglu", c.bias = false;
  c.tie_embeddings = false, c.norm_eps = 1e-5;
  RopeFrequencies& f = c.rope_frequencies;
  f.theta = 500000.0, f.llama3 = true, f.factor = 32.0, f.original_max_position_embeddings = 4;
  GPT a(c, *backend);
  a.init_weights(21);
  const fs::path dir = test_inputs::fresh_dir("llama_layout");
  save_model_checkpoint(dir, a, nullptr);

  const nlohmann::json j = read_json_file(dir / "config.json");
  CHECK(j["model_type"] == "llama");
  CHECK(j["architectures"][0] == "LlamaForCausalLM");
  CHECK(j["num_key_value_heads"] == 2);
  CHECK(j["rope_scaling"]["rope_type"] == "llama3");
  const GPTConfig back = read_checkpoint_config(dir);
  CHECK(back.same_shape(c));
  GPT b(back, *backend);
  load_model_weights(dir, b);
  CHECK(all_weights(a) == all_weights(b));

  // The fused (QKV, C) and (2H, C) weights are split by rows into HF's q, k, v and gate, up.
  const int64_t C = c.n_embd, hs = c.head_size(), Q = 4 * hs, KV = 2 * hs, H = 24;
  SafeTensorsFile file(dir / "model.safetensors");
  CHECK(file.names().size() == size_t(1 + 9 * c.n_layer + 1 + 1));  // + lm_head (untied)
  const std::vector<double> qkv = tensor_to_host_f64(*backend, a.params.qkvw.slice(1));
  const std::vector<double> k = file.read_f64("model.layers.1.self_attn.k_proj.weight", {KV, C});
  CHECK(k == std::vector<double>(qkv.begin() + Q * C, qkv.begin() + (Q + KV) * C));
  const std::vector<double> fc = tensor_to_host_f64(*backend, a.params.fcw.slice(0));
  const std::vector<double> up = file.read_f64("model.layers.0.mlp.up_proj.weight", {H, C});
  CHECK(up == std::vector<double>(fc.begin() + H * C, fc.end()));
  const std::vector<double> head = tensor_to_host_f64(*backend, a.params.lm_head);
  const std::vector<double> lm_head = file.read_f64("lm_head.weight", {c.vocab_size, C});
  CHECK(lm_head == std::vector<double>(head.begin(), head.begin() + c.vocab_size * C));

  // A Llama file cannot fill a model of other switches.
  GPT gpt2(small_config(), *backend);
  CHECK(error_of([&] { load_model_weights(dir, gpt2); }).find("not a Llama architecture") !=
        std::string::npos);
}

// Splits dir/model.safetensors into `shards` files (tensors dealt round-robin) plus
// model.safetensors.index.json in `out`, with dir's config.json: Hugging Face's sharded layout.
void write_sharded(const fs::path& dir, const fs::path& out, int shards) {
  fs::create_directories(out);
  fs::copy_file(dir / "config.json", out / "config.json");
  auto shard_name = [&](size_t k) {
    return "model-0000" + std::to_string(k + 1) + "-of-0000" + std::to_string(shards) +
           ".safetensors";
  };
  const SafeTensorsFile whole(dir / "model.safetensors");
  std::vector<std::vector<SafeTensorOut>> parts(static_cast<size_t>(shards));
  nlohmann::json weight_map = nlohmann::json::object();
  const std::vector<std::string> names = whole.names();
  for (size_t i = 0; i < names.size(); ++i) {
    const SafeTensorInfo& info = whole.info(names[i]);
    const uint8_t* bytes = whole.raw(names[i]);
    const size_t k = i % parts.size();
    parts[k].push_back({names[i], info.dtype, info.shape,
                        std::vector<uint8_t>(bytes, bytes + (info.end - info.begin))});
    weight_map[names[i]] = shard_name(k);
  }
  for (size_t k = 0; k < parts.size(); ++k)
    write_safetensors(out / shard_name(k), parts[k], {{"format", "pt"}});
  std::ofstream(out / "model.safetensors.index.json")
      << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2);
}

TEST_CASE("sharded safetensors (model.safetensors.index.json) load as the single file does") {
  auto backend = make_cpu_backend(DType::f32);
  for (const bool llama : {true, false}) {
    CAPTURE(llama);
    GPTConfig c = small_config();
    if (llama) {
      c.n_head = 4, c.n_kv_head = 2, c.mlp_hidden = 24, c.tie_embeddings = false;
      c.norm = "rmsnorm", c.position = "rope", c.mlp = "swiglu", c.bias = false;
    }
    GPT a(c, *backend);
    a.init_weights(5);
    const fs::path root = test_inputs::fresh_dir("sharded");
    save_model_checkpoint(root / "single", a, nullptr);
    for (int shards : {2, 3}) {
      const fs::path dir = root / ("shards" + std::to_string(shards));
      write_sharded(root / "single", dir, shards);
      CHECK_FALSE(fs::exists(dir / "model.safetensors"));
      GPT b(read_checkpoint_config(dir), *backend);
      load_model_weights(dir, b);
      CHECK(all_weights(a) == all_weights(b));
      const auto tokens = test_inputs::random_tokens(9, c.vocab_size, 3);
      CHECK(b.forward(tokens.data(), tokens.data() + 1, 1, 8) ==
            a.forward(tokens.data(), tokens.data() + 1, 1, 8));
      CHECK(SafeTensorsShards::open_model(dir).files().size() == size_t(shards));
      CHECK(describe_load(dir, 1.0).find("model.safetensors.index.json: ") != std::string::npos);
    }
  }

  // Errors name the index and the shard or tensor, in one line.
  const fs::path root = test_inputs::fresh_dir("sharded_bad");
  GPT a(small_config(), *backend);
  a.init_weights(5);
  save_model_checkpoint(root / "single", a, nullptr);
  auto error_with = [&](const std::string& name,
                        const std::function<void(const fs::path&, nlohmann::json&)>& edit) {
    const fs::path dir = root / name;
    write_sharded(root / "single", dir, 2);
    nlohmann::json index = read_json_file(dir / "model.safetensors.index.json");
    edit(dir, index);
    std::ofstream(dir / "model.safetensors.index.json", std::ios::trunc) << index.dump();
    GPT b(small_config(), *backend);
    const std::string message = error_of([&] { load_model_weights(dir, b); });
    CHECK(message.find('\n') == std::string::npos);
    return message;
  };
  std::string e = error_with("missing_shard", [](const fs::path& dir, nlohmann::json&) {
    fs::remove(dir / "model-00002-of-00002.safetensors");
  });
  CHECK(e.find("model.safetensors.index.json: shard ") != std::string::npos);
  CHECK(e.find("model-00002-of-00002.safetensors (of tensor '") != std::string::npos);
  CHECK(e.find("') is missing") != std::string::npos);
  e = error_with("unlisted", [](const fs::path&, nlohmann::json& index) {
    index["weight_map"].erase("transformer.ln_f.weight");
  });
  CHECK(e.find("model.safetensors.index.json: no tensor 'transformer.ln_f.weight' in weight_map") !=
        std::string::npos);
  e = error_with("wrong_shard", [](const fs::path&, nlohmann::json& index) {
    const std::string other =
        index["weight_map"]["transformer.wte.weight"] == "model-00001-of-00002.safetensors"
            ? "model-00002-of-00002.safetensors"
            : "model-00001-of-00002.safetensors";
    index["weight_map"]["transformer.wte.weight"] = other;
  });
  CHECK(e.find("tensor 'transformer.wte.weight' is not in its shard ") != std::string::npos);
  e = error_with("escape", [](const fs::path&, nlohmann::json& index) {
    index["weight_map"]["transformer.wte.weight"] = "../single/model.safetensors";
  });
  CHECK(e.find("expected a file name in the same directory") != std::string::npos);
  e = error_with("no_map",
                 [](const fs::path&, nlohmann::json& index) { index.erase("weight_map"); });
  CHECK(e.find("model.safetensors.index.json: expected a \"weight_map\" object") !=
        std::string::npos);
}

TEST_CASE("Hugging Face GPT-2 files: no prefix, mask buffers, tied lm_head, F16 and BF16") {
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = small_config();
  GPT a(config, *backend);
  a.init_weights(11);
  const int64_t V = config.vocab_size, C = config.n_embd, T = config.max_seq_len;

  // What the official gpt2 repository's model.safetensors looks like: GPT2Model names (no
  // "transformer."), the causal-mask buffers h.N.attn.bias, and (in some exports) lm_head.weight.
  std::vector<SafeTensorOut> tensors = export_hf_tensors(a.params, *backend);
  std::vector<float> wte;
  for (SafeTensorOut& t : tensors) {
    t.name = t.name.substr(std::string("transformer.").size());
    if (t.name == "wte.weight")
      wte.assign(reinterpret_cast<const float*>(t.bytes.data()),
                 reinterpret_cast<const float*>(t.bytes.data()) + V * C);
  }
  std::vector<float> mask(size_t(T * T), 1.0f);
  for (int l = 0; l < config.n_layer; l++) {
    tensors.push_back(
        safetensor_f32("h." + std::to_string(l) + ".attn.bias", {1, 1, T, T}, mask.data()));
    tensors.push_back(
        safetensor_f32("h." + std::to_string(l) + ".attn.masked_bias", {}, mask.data()));
  }
  tensors.push_back(safetensor_f32("lm_head.weight", {V, C}, wte.data()));
  const fs::path dir = test_inputs::fresh_dir("import_hf");
  write_model_config(dir / "config.json", config);
  write_safetensors(dir / "model.safetensors", tensors);
  GPT b(read_checkpoint_config(dir), *backend);
  load_model_weights(dir, b);
  CHECK(all_weights(a) == all_weights(b));

  // An untied head is refused by name.
  std::vector<float> other_head = wte;
  other_head[3] += 1.0f;
  tensors.back() = safetensor_f32("lm_head.weight", {V, C}, other_head.data());
  write_safetensors(dir / "model.safetensors", tensors);
  CHECK(error_of([&] {
          load_model_weights(dir, b);
        }).find("lm_head.weight differs from wte.weight") != std::string::npos);
  tensors.pop_back();

  // BF16 and F16 files: every value is the stored half-width value widened.
  for (const std::string dtype : {"BF16", "F16"}) {
    INFO(dtype);
    std::vector<SafeTensorOut> narrow = tensors;
    std::vector<std::vector<double>> expected_wte;
    for (SafeTensorOut& t : narrow) {
      const size_t n = t.bytes.size() / 4;
      std::vector<uint8_t> bytes(n * 2);
      for (size_t i = 0; i < n; i++) {
        // Use values exact in both formats: k / 64 for small integers k.
        const float v = float(int(i % 31) - 15) / 64.0f;
        uint16_t bits;
        if (dtype == "BF16") {
          uint32_t wide;
          std::memcpy(&wide, &v, 4);
          bits = uint16_t(wide >> 16);
        } else {  // IEEE half by hand for these exact values: sign, exponent + 15, 10-bit mantissa
          const float m = std::abs(v);
          if (m == 0) {
            bits = 0;
          } else {
            int e = 0;
            float f = m;
            while (f >= 2.0f) f /= 2, e++;
            while (f < 1.0f) f *= 2, e--;
            bits = uint16_t((v < 0 ? 0x8000 : 0) | (e + 15) << 10 | int((f - 1.0f) * 1024.0f));
          }
        }
        std::memcpy(&bytes[i * 2], &bits, 2);
      }
      t.dtype = dtype;
      t.bytes = bytes;
    }
    write_safetensors(dir / "model.safetensors", narrow);
    GPT c(config, *backend);
    load_model_weights(dir, c);
    const auto wte_c = tensor_to_host_f64(*backend, c.params.wte);
    CHECK(wte_c[0] == -15.0 / 64.0);
    CHECK(wte_c[17] == 2.0 / 64.0);
    CHECK(wte_c[size_t(V * C)] == 0.0);  // padding row
    const auto lnfb = tensor_to_host_f64(*backend, c.params.lnfb);
    CHECK(lnfb[1] == -14.0 / 64.0);
  }

  // A missing tensor and a wrong shape name the file and the tensor.
  std::vector<SafeTensorOut> missing = tensors;
  missing.erase(missing.begin() + 3);
  const std::string missing_name = tensors[3].name;
  write_safetensors(dir / "model.safetensors", missing);
  std::string message = error_of([&] { load_model_weights(dir, b); });
  CHECK(message.find((dir / "model.safetensors").string()) != std::string::npos);
  CHECK(message.find("'" + missing_name + "'") != std::string::npos);
  GPTConfig wider = config;
  wider.max_seq_len = 9;
  GPT d(wider, *backend);
  write_safetensors(dir / "model.safetensors", tensors);
  message = error_of([&] { load_model_weights(dir, d); });
  CHECK(message.find("'wpe.weight' has shape [8, 16], expected [9, 16]") != std::string::npos);
  std::vector<SafeTensorOut> ints = tensors;
  for (SafeTensorOut& t : ints)
    if (t.name == "wpe.weight") t.dtype = "I32";  // same byte count, not a float type
  write_safetensors(dir / "model.safetensors", ints);
  message = error_of([&] { load_model_weights(dir, b); });
  CHECK(message.find((dir / "model.safetensors").string()) != std::string::npos);
  CHECK(message.find("'wpe.weight' has dtype I32, not a float type") != std::string::npos);
  std::ofstream(dir / "model.safetensors") << "junk";
  CHECK(error_of([&] { load_model_weights(dir, d); }).find("model.safetensors") !=
        std::string::npos);
  fs::remove(dir / "model.safetensors");
  std::ofstream(dir / "pytorch_model.bin") << "pickle";
  CHECK(error_of([&] { load_model_weights(dir, d); }).find("pytorch_model.bin") !=
        std::string::npos);
}

TEST_CASE("Hugging Face config.json: n_ctx or n_positions, no padded_vocab_size") {
  const fs::path dir = test_inputs::fresh_dir("import_hfconfig");
  std::ofstream(dir / "config.json")
      << R"({"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 1600, "n_head": 25,
    "n_layer": 48, "vocab_size": 50257})";
  const GPTConfig c = read_checkpoint_config(dir);
  CHECK(c.max_seq_len == 1024);
  CHECK(c.n_layer == 48);
  CHECK(c.n_head == 25);
  CHECK(c.n_embd == 1600);
  CHECK(c.padded_vocab_size() == 50304);
  CHECK(count_parameters(c) == 1557611200);  // GPT-2 XL: 1.56B

  // glassbox writes its own padded_vocab_size key; a value that is not V rounded up is refused.
  std::ofstream(dir / "config.json") << R"({"n_ctx": 64, "n_embd": 16, "n_head": 2, "n_layer": 2,
    "vocab_size": 50257, "padded_vocab_size": 50257})";
  const std::string message = error_of([&] { read_checkpoint_config(dir); });
  CHECK(message.find("config.json") != std::string::npos);
  CHECK(message.find("\"padded_vocab_size\" is 50257, expected 50304") != std::string::npos);
}

TEST_CASE(
    "load_tokenizer: glassbox_tokenizer.json, the old tokenizer.json, HF vocab.json + merges.txt") {
  const fs::path dir = test_inputs::fresh_dir("import_tok");
  // The old name is still read when it is glassbox's (a top-level "type").
  fs::create_directories(dir / "old");
  std::ofstream(dir / "old" / "tokenizer.json") << R"({"type": "byte"})";
  CHECK(load_tokenizer(dir / "old")->name() == "byte");
  // Hugging Face's tokenizer.json is not mistaken for ours: it is read as Hugging Face's (this
  // one lacks the byte-level pre-tokenizer, see tests/test_gpt2_tokenizer.cpp for a whole one).
  fs::create_directories(dir / "hf_json");
  std::ofstream(dir / "hf_json" / "tokenizer.json")
      << R"({"version": "1.0", "model": {"type": "BPE"}})";
  CHECK(error_of([&] {
          load_tokenizer(dir / "hf_json");
        }).find("tokenizer.json: pre_tokenizer is null, expected {\"type\": \"ByteLevel\"}") !=
        std::string::npos);
  // glassbox_tokenizer.json wins over everything else in the directory.
  fs::create_directories(dir / "both");
  std::ofstream(dir / "both" / "tokenizer.json")
      << R"({"version": "1.0", "model": {"type": "BPE"}})";
  CharTokenizer::from_corpus("ab").save(dir / "both");
  CHECK(fs::exists(dir / "both" / "glassbox_tokenizer.json"));
  CHECK(load_tokenizer(dir / "both")->name() == "char");

  // A Hugging Face GPT-2 directory: vocab.json + merges.txt are encoder.json + vocab.bpe.
  const fs::path gpt2 = fs::path(GLASSBOX_SOURCE_DIR) / "data/cache/gpt2";
  if (!fs::exists(gpt2 / "encoder.json") || !fs::exists(gpt2 / "vocab.bpe")) {
    MESSAGE("skipping the HF tokenizer case: no data/cache/gpt2 (run data/fetch.sh gpt2)");
    return;
  }
  fs::create_directories(dir / "hf");
  fs::copy_file(gpt2 / "encoder.json", dir / "hf" / "vocab.json");
  fs::copy_file(gpt2 / "vocab.bpe", dir / "hf" / "merges.txt");
  std::ofstream(dir / "hf" / "tokenizer.json") << R"({"version": "1.0", "model": {"type": "BPE"}})";
  auto tok = load_tokenizer(dir / "hf");
  CHECK(tok->name() == "gpt2");
  CHECK(tok->vocab_size() == 50257);
  CHECK(tok->encode("Hello world<|endoftext|>") == std::vector<int32_t>{15496, 995, 50256});
}
