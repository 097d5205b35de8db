// glassbox bench-load: how fast a checkpoint's weights reach the model, beside how fast the same
// file can merely be read (what `cat FILE > /dev/null` does), and the process's peak memory. Two
// loads are timed: into fresh memory (what `sample` or `eval` do once) and into an arena that was
// written before (the conversion alone, without the kernel's first-touch work).
//
//   glassbox bench-load --write-random gpt2 --ckpt /tmp/gpt2-random     make a test checkpoint
//   glassbox bench-load --ckpt /tmp/gpt2-random                          time its loading
//
// --write-random saves GPT-2 initialised weights of a preset's shape (gpt2, gpt2-medium,
// gpt2-large, gpt2-xl): the same bytes per parameter as real weights, so the same load time. Run
// the load in a fresh process so that the peak memory is the loading's own.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/core/clock.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm::cli {

namespace {

namespace fs = std::filesystem;

struct BenchLoadOptions {
  std::string ckpt;
  std::string write_random;  // a preset name
  std::string gpt2_tokenizer =
      "data/cache/gpt2";  // saved with --write-random, so sample runs on it
  std::string device = "cpu";
  int repeats = 3;
};

// Reads the file through in 1 MiB pieces and throws the bytes away, as `cat FILE > /dev/null` does.
double read_through(const fs::path& path) {
  const auto start = std::chrono::steady_clock::now();
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "bench-load: cannot open " + path.string());
  std::vector<char> buffer(size_t(1) << 20);
  while (in.read(buffer.data(), std::streamsize(buffer.size())) || in.gcount() > 0) {}
  return seconds_since(start);
}

// The best and the worst of repeated timings: on a shared machine the spread is part of the result.
struct Timings {
  double best = 1e30, worst = 0;
  void add(double seconds) {
    best = std::min(best, seconds);
    worst = std::max(worst, seconds);
  }
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void run_bench_load(const BenchLoadOptions& o) {
  if (!o.write_random.empty()) {
    const GPTConfig config = gpt2_preset(o.write_random);
    std::unique_ptr<Backend> backend = make_cpu_backend(DType::f32);
    GPT model(config, *backend);
    model.init_weights(1337);
    const fs::path dir = o.gpt2_tokenizer;
    std::unique_ptr<Tokenizer> tokenizer =
        make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe", /*allow_special=*/true);
    const auto start = std::chrono::steady_clock::now();
    save_model_checkpoint(o.ckpt, model, tokenizer.get());
    std::printf("bench-load: saved in %.2f s\n", seconds_since(start));
    std::printf("bench-load: wrote %s (%s shape, random weights)\n", o.ckpt.c_str(),
                o.write_random.c_str());
    return;
  }
  check(o.repeats >= 1, "bench-load: --repeats must be at least 1");
  const fs::path file = fs::path(o.ckpt) / "model.safetensors";
  const double file_mb = double(fs::file_size(file)) / 1e6;
  read_through(file);  // warm the page cache
  Timings read;
  for (int i = 0; i < o.repeats; i++) read.add(read_through(file));

  const GPTConfig config = read_checkpoint_config(o.ckpt);
  std::unique_ptr<Backend> backend = make_backend(o.device);
  // Into fresh memory, as every command that loads once does: each repeat builds a new model, so
  // its arena's pages are written for the first time (the kernel zeroes each page as it is first
  // written).
  Timings fresh;
  for (int i = 0; i < o.repeats; i++) {
    GPT model(config, *backend);
    const auto start = std::chrono::steady_clock::now();
    load_model_weights(o.ckpt, model);
    fresh.add(seconds_since(start));
  }
  // Into an arena already written once (the visualizer's timeline reloading checkpoints into one
  // model): the conversion alone.
  Timings warm;
  GPT model(config, *backend);
  load_model_weights(o.ckpt, model);
  for (int i = 0; i < o.repeats; i++) {
    const auto start = std::chrono::steady_clock::now();
    load_model_weights(o.ckpt, model);
    warm.add(seconds_since(start));
  }
  std::printf("bench-load: %s: %.0f MB, %.1fM parameters, %s backend, best (range) of %d\n",
              file.c_str(), file_mb, double(count_parameters(config)) / 1e6, backend->name(),
              o.repeats);
  std::printf("  read the file (as cat):       %7.3f s (%.3f-%.3f)  %6.0f MB/s\n", read.best,
              read.best, read.worst, file_mb / read.best);
  std::printf("  load into fresh memory:       %7.3f s (%.3f-%.3f)  %6.0f MB/s  (%.1fx the read)\n",
              fresh.best, fresh.best, fresh.worst, file_mb / fresh.best, fresh.best / read.best);
  std::printf("  load into the written arena:  %7.3f s (%.3f-%.3f)  %6.0f MB/s  (%.1fx the read)\n",
              warm.best, warm.best, warm.worst, file_mb / warm.best, warm.best / read.best);
  std::printf("  peak resident memory:         %7.0f MB  (%.2fx the file)\n", peak_rss_mb(),
              peak_rss_mb() / file_mb);
}

}  // namespace

void register_bench_load(CLI::App& app) {
  auto o = std::make_shared<BenchLoadOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-load", "Time loading a checkpoint's weights beside reading its file; peak memory");
  cmd->add_option("--ckpt", o->ckpt,
                  "Checkpoint directory (to load, or to write with --write-random)")
      ->required();
  cmd->add_option("--write-random", o->write_random,
                  "Write random weights of this GPT-2 preset's shape to --ckpt instead (gpt2, "
                  "gpt2-medium, ...)");
  cmd->add_option("--gpt2-tokenizer", o->gpt2_tokenizer,
                  "Directory with GPT-2's encoder.json + vocab.bpe, saved with --write-random")
      ->capture_default_str();
  cmd->add_option("--repeats", o->repeats,
                  "Timed repeats of each load (the best and the range are printed)")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->callback([o] { run_bench_load(*o); });
}

}  // namespace llm::cli
