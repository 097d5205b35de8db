// A fuzzing driver for the harnesses in tests/fuzz/ that needs only g++ and its sanitizers (no
// clang, no libFuzzer): each harness defines LLVMFuzzerTestOneInput, libFuzzer's entry point, and
// this file is its main().
//
//   fuzz_NAME [--seconds S] [--seed N] [--dict FILE] [--findings DIR] INPUT_DIR...
//
// 1. Every file under the INPUT_DIRs is run once, in name order: the seeds and every input that
//    ever crashed a harness (kept in the repository as regression inputs, see
//    tests/fuzz/README.md).
// 2. Then, for S seconds (default 0: none), inputs are mutated and run (--seed N repeats a run's
//    choices; by default each run draws a new seed and prints it): a random choice of
//    an input, then 1 to 8 edits (flip a bit, set a byte, write a boundary integer such as 0, -1,
//    2^31 or 2^32 + 2, insert or delete bytes, copy a stretch from another input, insert a word of
//    the dictionary). The corpus grows with a sample of the mutants so edits can stack up. There is
//    no coverage feedback: this is a blind mutation loop, cheap to run in CI; libFuzzer would be
//    smarter where clang is installed.
// The input being run is kept in DIR/crash-input (default ./fuzz-findings) and removed when the run
// ends well: after a sanitizer report or a crash that file is the input that caused it. Reproduce
// with `fuzz_NAME DIR/crash-input`, then keep it as tests/fuzz/inputs/NAME/crash-<what>.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr size_t kMaxInputBytes = 1 << 16;

// DIR/crash-input, open while inputs run: each input is written there first, so that whatever
// ends the process, the input that did it is on disk (the page cache keeps it; no sync needed).
int current_input_fd = -1;
fs::path findings_dir = "fuzz-findings";
const char* program = "fuzz";

void open_current_input() {
  fs::create_directories(findings_dir);
  const fs::path path = findings_dir / "crash-input";
  current_input_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (current_input_fd < 0) {
    std::fprintf(stderr, "%s: cannot write %s\n", program, path.c_str());
    std::exit(2);
  }
}

void close_current_input() {
  ::close(current_input_fd);
  fs::remove(findings_dir / "crash-input");
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// libFuzzer's dictionary format: one "word" per line, \\, \" and \xNN escapes; # starts a comment.
std::vector<Bytes> read_dictionary(const fs::path& path) {
  std::vector<Bytes> words;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t open = line.find('"'), close = line.rfind('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
    Bytes word;
    for (size_t i = open + 1; i < close; i++) {
      if (line[i] == '\\' && i + 1 < close && line[i + 1] == 'x' && i + 3 < close) {
        word.push_back(uint8_t(std::stoi(line.substr(i + 2, 2), nullptr, 16)));
        i += 3;
      } else if (line[i] == '\\' && i + 1 < close) {
        word.push_back(uint8_t(line[++i]));
      } else {
        word.push_back(uint8_t(line[i]));
      }
    }
    words.push_back(word);
  }
  return words;
}

// Runs the harness on one input. The harness catches the errors a reader is allowed to throw
// (llm::Error); anything else that escapes is a finding too.
void run(const Bytes& input) {
  if (::pwrite(current_input_fd, input.data(), input.size(), 0) != ssize_t(input.size()) ||
      ::ftruncate(current_input_fd, off_t(input.size())) != 0) {
    std::fprintf(stderr, "%s: cannot write the current input to %s\n", program,
                 (findings_dir / "crash-input").c_str());
    std::exit(2);
  }
  try {
    LLVMFuzzerTestOneInput(input.data(), input.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: uncaught exception: %s (the input is %s)\n", program, e.what(),
                 (findings_dir / "crash-input").c_str());
    std::exit(1);
  }
}

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<Bytes> dictionary)
      : rng_(seed), dictionary_(std::move(dictionary)) {}

  Bytes mutate(const std::vector<Bytes>& corpus) {
    Bytes x = corpus[below(corpus.size())];
    const size_t edits = 1 + below(8);
    for (size_t e = 0; e < edits; e++) edit(x, corpus);
    if (x.size() > kMaxInputBytes) x.resize(kMaxInputBytes);
    return x;
  }

 private:
  size_t below(size_t n) { return n == 0 ? 0 : size_t(rng_() % n); }

  void edit(Bytes& x, const std::vector<Bytes>& corpus) {
    // Integers at the edges of the ranges readers check: sizes, counts, ids, offsets.
    static const int64_t boundaries[] = {
        0,         1,         -1,         2,          255,        256,       65535,     65536,
        INT32_MAX, INT32_MIN, 2147483648, 4294967295, 4294967298, INT64_MAX, INT64_MIN, 1 << 20};
    switch (below(x.empty() ? 3 : 9)) {
      case 0: {  // insert random bytes
        const size_t at = below(x.size() + 1), n = 1 + below(8);
        for (size_t i = 0; i < n; i++) x.insert(x.begin() + long(at), uint8_t(rng_()));
        break;
      }
      case 1:  // insert a dictionary word
        if (!dictionary_.empty()) {
          const Bytes& w = dictionary_[below(dictionary_.size())];
          x.insert(x.begin() + long(below(x.size() + 1)), w.begin(), w.end());
        }
        break;
      case 2: {  // copy a stretch of another input into this one
        const Bytes& other = corpus[below(corpus.size())];
        if (other.empty()) break;
        const size_t from = below(other.size()),
                     n = 1 + below(std::min<size_t>(64, other.size() - from));
        x.insert(x.begin() + long(below(x.size() + 1)), other.begin() + long(from),
                 other.begin() + long(from + n));
        break;
      }
      case 3: x[below(x.size())] ^= uint8_t(1u << below(8)); break;  // flip a bit
      case 4: x[below(x.size())] = uint8_t(rng_()); break;           // set a byte
      case 5: {  // write a boundary integer, 1, 2, 4 or 8 bytes little-endian
        const int64_t v = boundaries[below(std::size(boundaries))];
        const size_t width = size_t(1) << below(4), at = below(x.size());
        for (size_t i = 0; i < width && at + i < x.size(); i++)
          x[at + i] = uint8_t(uint64_t(v) >> (8 * i));
        break;
      }
      case 6: {  // write a boundary integer as decimal text (JSON, TOML)
        const std::string text = std::to_string(boundaries[below(std::size(boundaries))]);
        const size_t at = below(x.size());
        x.insert(x.begin() + long(at), text.begin(), text.end());
        break;
      }
      case 7: {  // delete a stretch
        const size_t at = below(x.size()), n = 1 + below(std::min<size_t>(16, x.size() - at));
        x.erase(x.begin() + long(at), x.begin() + long(at + n));
        break;
      }
      default: {  // cut the end off
        x.resize(below(x.size()));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<Bytes> dictionary_;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--seconds S] [--seed N] [--dict FILE] [--findings DIR] "
               "INPUT_DIR...\n",
               program, message, program);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  program = argv[0];
  double seconds = 0;
  uint64_t seed = std::random_device{}();  // a new stretch of inputs every run, unless given
  fs::path dictionary;
  std::vector<fs::path> input_dirs;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (arg == "--seed") {
      seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--dict") {
      dictionary = value();
    } else if (arg == "--findings") {
      findings_dir = value();
    } else if (!arg.empty() && arg[0] == '-') {
      usage(("unknown option " + arg).c_str());
    } else {
      input_dirs.push_back(arg);
    }
  }
  if (input_dirs.empty()) usage("no input directory or file given");
  open_current_input();

  // 1. Every seed and regression input, in name order.
  std::vector<fs::path> files;
  for (const fs::path& dir : input_dirs) {
    if (fs::is_regular_file(dir)) {
      files.push_back(dir);
    } else if (fs::is_directory(dir)) {
      for (const auto& entry : fs::recursive_directory_iterator(dir))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else {
      usage(("no such file or directory: " + dir.string()).c_str());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) usage("the input directories hold no files");
  std::vector<Bytes> corpus;
  for (const fs::path& file : files) {
    corpus.push_back(read_file(file));
    run(corpus.back());
  }
  std::printf("%s: %zu inputs ran clean; mutating with --seed %llu\n", program, files.size(),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  // 2. Mutants until the time is up.
  Mutator mutator(seed, dictionary.empty() ? std::vector<Bytes>{} : read_dictionary(dictionary));
  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 keep(seed + 1);
  uint64_t runs = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
         seconds) {
    Bytes x = mutator.mutate(corpus);
    run(x);
    runs++;
    // Keep one mutant in 64 (the corpus at most 4096 inputs) so edits can build on edits.
    if (keep() % 64 == 0) {
      if (corpus.size() < 4096)
        corpus.push_back(std::move(x));
      else
        corpus[files.size() + keep() % (corpus.size() - files.size())] = std::move(x);
    }
  }
  close_current_input();
  if (seconds > 0)
    std::printf("%s: %llu mutated inputs in %.0f s (seed %llu), no finding\n", program,
                static_cast<unsigned long long>(runs), seconds,
                static_cast<unsigned long long>(seed));
  return 0;
}
