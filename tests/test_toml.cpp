// Tests for llm/io/toml_file: non-ASCII text is read inside strings and comments and refused, with
// its line, anywhere else (where toml++ 3.3 would reach undefined behaviour on it).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "llm/core/error.hpp"
#include "llm/io/toml_file.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;

namespace {

fs::path write_toml(const std::string& name, const std::string& text) {
  const fs::path path = test_inputs::fresh_dir("toml") / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("non-ASCII characters are read in strings and comments, refused elsewhere") {
  const fs::path good =
      write_toml("good.toml",
                 "# r\xC3\xA9glages\nout_dir = \"runs/caf\xC3\xA9\"\nnote = 'd\xC3\xA9j\xC3\xA0'\n"
                 "text = \"\"\"\nna\xC3\xAFve \\\" \"\"\"\nn_layer = 2 # \xC3\xB8\n");
  const std::vector<llm::TomlSetting> settings = llm::read_toml_settings(good);
  REQUIRE(settings.size() == 4);
  auto value_of = [&](const std::string& key) {
    for (const llm::TomlSetting& s : settings)
      if (s.key == key) return s.values;
    return std::vector<std::string>{};
  };
  CHECK(value_of("out_dir") == std::vector<std::string>{"runs/caf\xC3\xA9"});
  CHECK(value_of("note") == std::vector<std::string>{"d\xC3\xA9j\xC3\xA0"});
  CHECK(value_of("n_layer") == std::vector<std::string>{"2"});

  for (const std::string& text : {std::string("n_layer = 2\n\xC3\xB8 = 1\n"),
                                  std::string("n_layer = 2\nbias = \"x\" \xC3\xB8\n"),
                                  std::string("n_layer = 2\nx = '''a'''\xEF\xB9\x80\n")}) {
    const fs::path bad = write_toml("bad.toml", text);
    const std::string e = test_inputs::error_of([&] { llm::read_toml_settings(bad); });
    CHECK(e == bad.string() +
                   ":2: a non-ASCII character outside a string or comment (keys and values are "
                   "ASCII)");
  }
}
