// Tests for llm/io/safetensors: round trips, and every kind of corrupt file gives a clear error.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "llm/core/error.hpp"
#include "llm/io/safetensors.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;

namespace {

// One folder for every case of this file, emptied when first asked for.
const fs::path& temp_dir() {
  static const fs::path dir = test_inputs::fresh_dir("safetensors");
  return dir;
}

// Writes a file from a JSON header (as given, no padding) and a data section of `data_bytes` bytes.
fs::path write_raw(const std::string& name, const std::string& header, size_t data_bytes) {
  fs::path path = temp_dir() / name;
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out << std::string(data_bytes, '\0');
  return path;
}

// The message of the llm::Error that constructing a SafeTensorsFile from path throws.
std::string open_error(const fs::path& path) {
  try {
    llm::SafeTensorsFile file(path);
  } catch (const llm::Error& e) { return e.what(); }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("safetensors round trip of f32, f64 and i32 tensors with metadata") {
  const fs::path path = temp_dir() / "roundtrip.safetensors";
  std::vector<float> a = {1.5f, -2.25f, 3.0f, 1e-30f, 6.0f, 7.0f};
  std::vector<double> b = {0.1, -1e300, 3.14159265358979};
  std::vector<int32_t> c = {-7, 0, 2147483647};
  llm::SafeTensorOut ci{"c", "I32", {3}, std::vector<uint8_t>(12)};
  std::memcpy(ci.bytes.data(), c.data(), 12);
  llm::write_safetensors(
      path,
      {llm::safetensor_f32("a", {2, 3}, a.data()), llm::safetensor_f64("b", {3}, b.data()), ci},
      {{"format", "pt"}});
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));

  // The header is padded with spaces so the data section starts on an 8-byte boundary.
  std::ifstream in(path, std::ios::binary);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  CHECK(header_len % 8 == 0);

  llm::SafeTensorsFile file(path);
  CHECK(file.names() == std::vector<std::string>{"a", "b", "c"});
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.info("a").dtype == "F32");
  CHECK(file.info("a").shape == std::vector<int64_t>{2, 3});
  CHECK(file.read_f32("a", {2, 3}) == a);
  CHECK(file.read_f64("b", {3}) == b);
  CHECK(file.read_f64("a", {2, 3})[1] == -2.25);
  int32_t back[3];
  std::memcpy(back, file.raw("c"), 12);
  CHECK(std::vector<int32_t>(back, back + 3) == c);
  CHECK(file.contains("a"));
  CHECK_FALSE(file.contains("d"));
}

TEST_CASE("safetensors reads BF16 and F16 as f32") {
  // 1.0, -2.0, 0.5 as bf16 (top halves of the f32 bits) and as IEEE half; then a half subnormal.
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[6,14]},"x":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}})";
  const uint16_t bf16[3] = {0x3f80, 0xc000, 0x3f00};
  const uint16_t f16[4] = {0x3c00, 0xc000, 0x3800, 0x0001};
  fs::path path = temp_dir() / "half.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header;
    out.write(reinterpret_cast<const char*>(bf16), 6);
    out.write(reinterpret_cast<const char*>(f16), 8);
  }
  llm::SafeTensorsFile file(path);
  CHECK(file.read_f32("x", {3}) == std::vector<float>{1.0f, -2.0f, 0.5f});
  std::vector<float> h = file.read_f32("h", {4});
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == 0.5f);
  CHECK(h[3] == doctest::Approx(5.960464477539063e-08));  // 2^-24, the smallest half subnormal
}

TEST_CASE("safetensors: each corrupt file gives an error naming the file and the problem") {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

  SUBCASE("missing file") {
    std::string e = open_error(temp_dir() / "does_not_exist.safetensors");
    CHECK(contains(e, "does_not_exist.safetensors"));
    CHECK(contains(e, "no such file"));
  }
  SUBCASE("shorter than 8 bytes") {
    fs::path path = temp_dir() / "short.safetensors";
    std::ofstream(path, std::ios::binary) << "abc";
    std::string e = open_error(path);
    CHECK(contains(e, "short.safetensors"));
    CHECK(contains(e, "shorter than the 8-byte header length"));
  }
  SUBCASE("header length past end of file") {
    fs::path path = temp_dir() / "longheader.safetensors";
    {
      std::ofstream out(path, std::ios::binary);
      uint64_t n = 1000;
      out.write(reinterpret_cast<const char*>(&n), 8);
      out << "{}";
    }
    std::string e = open_error(path);
    CHECK(contains(e, "longheader.safetensors"));
    CHECK(contains(e, "header length 1000 runs past the end of the file"));
  }
  SUBCASE("header is not JSON") {
    std::string e = open_error(write_raw("notjson.safetensors", "{not json", 0));
    CHECK(contains(e, "notjson.safetensors"));
    CHECK(contains(e, "not valid JSON"));
  }
  SUBCASE("unknown dtype") {
    std::string e = open_error(write_raw(
        "dtype.safetensors", R"({"w":{"dtype":"F48","shape":[2],"data_offsets":[0,8]}})", 8));
    CHECK(contains(e, "dtype.safetensors"));
    CHECK(contains(e, "unknown dtype 'F48'"));
  }
  SUBCASE("shape x dtype size differs from the byte range") {
    std::string e = open_error(write_raw(
        "size.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
    CHECK(contains(e, "size.safetensors"));
    CHECK(contains(e, "needs 12 bytes"));
  }
  SUBCASE("range past the end of the data") {
    std::string e = open_error(write_raw("past.safetensors", "{" + ok_entry + "}", 4));
    CHECK(contains(e, "past.safetensors"));
    CHECK(contains(e, "run past the end of the data"));
  }
  SUBCASE("overlapping ranges") {
    std::string e = open_error(write_raw(
        "overlap.safetensors",
        "{" + ok_entry + R"(,"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
    CHECK(contains(e, "overlap.safetensors"));
    CHECK(contains(e, "overlaps"));
  }
  SUBCASE("gap between ranges") {
    std::string e = open_error(write_raw(
        "gap.safetensors",
        "{" + ok_entry + R"(,"v":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16));
    CHECK(contains(e, "gap.safetensors"));
    CHECK(contains(e, "belong to no tensor"));
  }
  SUBCASE("ranges not covering the data") {
    std::string e = open_error(write_raw("cover.safetensors", "{" + ok_entry + "}", 16));
    CHECK(contains(e, "cover.safetensors"));
    CHECK(contains(e, "do not cover the data"));
  }
  // Both were undefined behaviour: the first found by fuzzing (tests/fuzz/fuzz_safetensors.cpp),
  // the second in reviewing the code after it.
  SUBCASE("a float where an integer belongs") {
    std::string e =
        open_error(write_raw("floatshape.safetensors",
                             R"({"w":{"dtype":"F32","shape":[1e300],"data_offsets":[0,8]}})", 8));
    CHECK(contains(e, "floatshape.safetensors"));
    CHECK(contains(e, "holds a non-integer"));
    e = open_error(write_raw("floatoffset.safetensors",
                             R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1.5,8]}})", 8));
    CHECK(contains(e, "is not two non-negative integers"));
  }
  SUBCASE("a shape whose byte size overflows 64 bits") {
    std::string e = open_error(write_raw(
        "overflow.safetensors",
        R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0));
    CHECK(contains(e, "overflow.safetensors"));
    CHECK(contains(e, "too large"));
    // 2^62 x 4 bytes wraps to exactly 0 in 64 bits: it must not pass as an empty tensor.
    e = open_error(write_raw(
        "wrap.safetensors",
        R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0));
    CHECK(contains(e, "too large"));
  }
  SUBCASE("missing tensor and wrong shape") {
    fs::path path = write_raw("good.safetensors", "{" + ok_entry + "}", 8);
    llm::SafeTensorsFile file(path);
    try {
      file.read_f32("nope", {2});
      FAIL("no error");
    } catch (const llm::Error& err) {
      CHECK(contains(err.what(), "good.safetensors"));
      CHECK(contains(err.what(), "no tensor named 'nope'"));
    }
    try {
      file.read_f32("w", {1, 2});
      FAIL("no error");
    } catch (const llm::Error& err) {
      CHECK(contains(err.what(), "good.safetensors"));
      CHECK(contains(err.what(), "has shape [2], expected [1, 2]"));
    }
    CHECK(file.read_f32("w", {2}) == std::vector<float>{0.0f, 0.0f});
  }
}

TEST_CASE("safetensors writer rejects bytes that do not match the shape") {
  llm::SafeTensorOut bad{"w", "F32", {3}, std::vector<uint8_t>(8)};
  CHECK_THROWS_AS(llm::write_safetensors(temp_dir() / "bad.safetensors", {bad}), llm::Error);
}
