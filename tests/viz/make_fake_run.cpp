// make_fake_run: writes a run directory with a fake-but-realistic metrics.jsonl for the visualizer
// tests (only the tests use it; real runs come from `glassbox train`).
//
//   make_fake_run OUT_DIR [--steps N] [--layers L] [--every K] [--malformed] [--hellaswag]
//
// The curves look like a small GPT's: loss falling from ln(V) ~ 10.8 towards ~1.6 with noise and a
// few spikes, validation loss every 250 steps, linear warm-up then cosine learning rate, gradient
// norm falling with heavy-tailed noise, steady throughput. Every K steps "layer_grad_norm" and
// "layer_update_ratio" hold L values that rise strictly with the layer index at every step (by a
// factor 10^(1.5/(L-1)) per layer, far above the 5% noise): the heat-strip test checks that deeper
// layers are drawn brighter. --malformed adds a line that is not JSON and ends the file in the
// middle of a line (a trainer caught mid-write). --hellaswag adds HellaSwag accuracies every 250
// steps, rising from chance (0.25) towards 0.30, acc_norm above acc.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: make_fake_run OUT_DIR [--steps N] [--layers L] [--every K] [--malformed] "
                 "[--hellaswag]\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  int steps = 3000, layers = 12, every = 25;
  bool malformed = false, hellaswag = false;
  for (int i = 2; i < argc; i++) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc)
      steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc)
      layers = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--every") && i + 1 < argc)
      every = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--malformed"))
      malformed = true;
    else if (!std::strcmp(argv[i], "--hellaswag"))
      hellaswag = true;
    else {
      std::fprintf(stderr, "make_fake_run: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  std::filesystem::create_directories(out);
  std::FILE* f = std::fopen((out / "metrics.jsonl").c_str(), "w");
  if (!f) {
    std::perror("make_fake_run");
    return 1;
  }

  std::mt19937_64 rng(1234);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const double max_lr = 6e-4, min_lr = 6e-5, warmup = 100, tokens_per_step = 16 * 1024;
  double elapsed = 0.0;
  for (int step = 0; step < steps; step++) {
    const double lr = step < warmup
                          ? max_lr * (step + 1) / warmup
                          : min_lr + 0.5 * (max_lr - min_lr) *
                                         (1 + std::cos(M_PI * (step - warmup) / (steps - warmup)));
    const double clean = 1.55 + 6.2 * std::exp(-step / 90.0) + 3.0 * std::exp(-step / 900.0);
    double loss = clean * (1 + 0.018 * gauss(rng));
    if (step > 200 && step % 617 == 0) loss *= 1.25;  // a spike now and then
    const double grad_norm = (0.35 + 6.0 * std::exp(-step / 150.0)) * std::exp(0.25 * gauss(rng)) *
                             (step % 617 == 0 && step > 200 ? 4.0 : 1.0);
    const double tps = (step == 0 ? 21000.0 : 52000.0) * (1 + 0.02 * gauss(rng));
    elapsed += tokens_per_step / tps;

    std::fprintf(f,
                 "{\"step\": %d, \"loss\": %.5f, \"lr\": %.6g, \"grad_norm\": %.5f, "
                 "\"tokens_per_s\": %.1f, \"elapsed_s\": %.3f",
                 step, loss, lr, grad_norm, tps, elapsed);
    if (step % 250 == 0 || step == steps - 1)
      std::fprintf(f, ", \"val_loss\": %.5f", clean * 1.02 + 0.04 * step / steps);
    if (hellaswag && (step % 250 == 0 || step == steps - 1)) {
      const double progress = 1 - std::exp(-step / 1000.0);
      std::fprintf(f, ", \"hellaswag_acc\": %.4f, \"hellaswag_acc_norm\": %.4f",
                   0.25 + 0.035 * progress + 0.004 * gauss(rng),
                   0.25 + 0.05 * progress + 0.004 * gauss(rng));
    }
    if (step % every == 0) {
      const double decay = 0.3 + 2.0 * std::exp(-step / 400.0);
      std::fputs(", \"layer_grad_norm\": [", f);
      for (int l = 0; l < layers; l++)
        std::fprintf(f, "%s%.6g", l ? ", " : "",
                     std::pow(10.0, -2.0 + 1.5 * l / std::max(1, layers - 1)) * decay *
                         (1 + 0.05 * gauss(rng)));
      std::fputs("], \"layer_update_ratio\": [", f);
      for (int l = 0; l < layers; l++)
        std::fprintf(f, "%s%.6g", l ? ", " : "",
                     std::pow(10.0, -3.6 + 1.0 * l / std::max(1, layers - 1)) * (lr / max_lr) *
                         (1 + 0.05 * gauss(rng)));
      std::fputs("]", f);
    }
    std::fputs("}\n", f);
    if (malformed && step == steps / 2) std::fputs("{\"step\": 1500, \"loss\": nan-oops\n", f);
  }
  if (malformed) std::fputs("{\"step\": 99999, \"loss\": 1.2", f);  // cut mid-line
  std::fclose(f);
  std::printf("wrote %s (%d steps, %d layers)\n", (out / "metrics.jsonl").c_str(), steps, layers);
  return 0;
}
