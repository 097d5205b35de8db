// bench_gpt2: GPT-2 encoding throughput of llm::Gpt2Tokenizer beside the npm gpt-3-encoder, same
// run.
//
//   bench_gpt2 [DATA_DIR] [--mb 20] [--reps 3] [--no-npm]
// Corpora: tinyshakespeare (1.1 MB) and a generated one of --mb MB (tinyshakespeare's lines
// shuffled with a fixed seed, concatenated until large enough). For each: MB/s on one thread (fresh
// tokenizer, so the word cache starts empty; best of --reps), MB/s on all cores (gpt2_split_text +
// encode_batch, checked equal to the one-thread ids), and gpt-3-encoder's MB/s (node
// reference_ids.js --bench). MB = 10^6 bytes of UTF-8 input. Run by tests/tokenizer/bench.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "bench_gpt2: cannot open %s\n", p.string().c_str());
    std::exit(1);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// node reference_ids.js --bench FILE REPS prints "npm_mb_per_s X"; returns X, or -1.
static double npm_mb_per_s(const fs::path& script, const fs::path& file, int reps) {
  std::string cmd =
      "node '" + script.string() + "' --bench '" + file.string() + "' " + std::to_string(reps);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char line[256];
  double v = -1;
  while (std::fgets(line, sizeof line, p))
    if (std::sscanf(line, "npm_mb_per_s %lf", &v) == 1) break;
  pclose(p);
  return v;
}

struct Result {
  double one = 0, all = 0;
  size_t tokens = 0;
};

static Result bench(const fs::path& enc, const fs::path& bpe, const std::string& text, int reps,
                    int threads) {
  Result r;
  double mb = text.size() / 1e6;
  std::vector<int32_t> ids;
  for (int i = 0; i < reps; ++i) {
    auto tok = llm::make_gpt2_tokenizer(enc, bpe);  // fresh instance: empty word cache
    auto t0 = Clock::now();
    ids = tok->encode(text);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    r.one = std::max(r.one, mb / s);
  }
  r.tokens = ids.size();
  for (int i = 0; i < reps; ++i) {
    auto tok = llm::make_gpt2_tokenizer(enc, bpe);
    auto* gpt2 = dynamic_cast<llm::Gpt2Tokenizer*>(tok.get());
    auto t0 = Clock::now();
    auto chunks = llm::gpt2_split_text(text, 1 << 16);
    auto parts = gpt2->encode_batch(chunks, threads);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    r.all = std::max(r.all, mb / s);
    std::vector<int32_t> joined;
    joined.reserve(ids.size());
    for (auto& p : parts) joined.insert(joined.end(), p.begin(), p.end());
    if (joined != ids) {
      std::fprintf(stderr, "bench_gpt2: multi-threaded ids differ from one-thread ids\n");
      std::exit(1);
    }
  }
  return r;
}

int main(int argc, char** argv) {
  fs::path data = GLASSBOX_TOKENIZER_DATA;
  double target_mb = 20;
  int reps = 3;
  bool npm = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mb") && i + 1 < argc)
      target_mb = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-npm"))
      npm = false;
    else
      data = argv[i];
  }
  fs::path enc = data / "gpt2" / "encoder.json", bpe = data / "gpt2" / "vocab.bpe";
  fs::path here = fs::path(__FILE__).parent_path();
  fs::path script = here / "reference_ids.js";
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // The generated corpus: shuffled tinyshakespeare lines (seed 1234) up to target_mb MB.
  fs::path shakespeare = data / "tinyshakespeare" / "input.txt";
  std::string base = slurp(shakespeare);
  std::vector<std::string_view> lines;
  for (size_t s = 0; s < base.size();) {
    size_t e = base.find('\n', s);
    e = e == std::string::npos ? base.size() : e + 1;
    lines.push_back(std::string_view(base).substr(s, e - s));
    s = e;
  }
  std::mt19937_64 rng(1234);
  std::string big;
  while (big.size() < target_mb * 1e6) {
    std::shuffle(lines.begin(), lines.end(), rng);
    for (auto l : lines) {
      big.append(l);
      if (big.size() >= target_mb * 1e6) break;
    }
  }
  fs::path big_path = fs::temp_directory_path() / "glassbox_bench_gpt2_corpus.txt";
  std::ofstream(big_path, std::ios::binary).write(big.data(), big.size());

  std::printf("GPT-2 BPE encode throughput (MB = 1e6 bytes), %d hardware threads, best of %d\n",
              threads, reps);
  std::printf("%-22s %9s %10s %12s %14s %10s %12s\n", "corpus", "MB", "tokens", "1-thread MB/s",
              "all-cores MB/s", "npm MB/s", "1-thread/npm");
  struct Corpus {
    const char* name;
    fs::path path;
    const std::string* text;
  };
  for (const Corpus& c : {Corpus{"tinyshakespeare", shakespeare, &base},
                          Corpus{"shuffled-shakespeare", big_path, &big}}) {
    Result r = bench(enc, bpe, *c.text, reps, threads);
    double n = npm ? npm_mb_per_s(script, c.path, c.text == &base ? reps : 1) : -1;
    std::printf("%-22s %9.2f %10zu %12.2f %14.2f %10.3f %12s\n", c.name, c.text->size() / 1e6,
                r.tokens, r.one, r.all, n,
                n > 0 ? (std::to_string(static_cast<int>(r.one / n + 0.5)) + "x").c_str() : "n/a");
  }
  fs::remove(big_path);
  return 0;
}
