// Lesson 09's result, with YOUR functions:
//   (1) the ring all-reduce on W = 2 .. 64 simulated ranks: correct, and each rank's traffic flat
//   in
//       W (2 (W-1)/W of the buffer), which is why data parallelism scales to many GPUs;
//   (2) one backward of GPT-2 124M on 8 H100s as a timeline, compute on one row and the network on
//       the other, with the gradients reduced after the backward and during it (overlap_timeline),
//       and what each adds to the step.
// Usage: lesson_09_main [B] [bus GB/s]   (per-GPU batch of B x 1024 tokens, default 4; NCCL's bus
// bandwidth, default 400 for 8 H100s over NVLink; try 45 for InfiniBand between nodes)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/random.hpp"
#include "lesson.hpp"
#include "llm/train/optimizer.hpp"  // llm::parameter_arena_size

using namespace lesson09;

namespace {

// One row of the timeline: bucket k drawn as its label over [from[k], to[k]) on `width` columns
// spanning [0, total_ms).
std::string timeline_row(const std::vector<double>& from, const std::vector<double>& to,
                         double total_ms, int width) {
  const std::string labels = "f0123456789abcdefghijklmnopqrstuvwxyz";
  std::string row(size_t(width), '.');
  const size_t buckets = from.size();
  for (size_t k = 0; k < buckets; k++) {
    // bucket 0 is lnf ('f'), then the layers from the top down, the last the embeddings ('E')
    const char label = k == 0             ? 'f'
                       : k + 1 == buckets ? 'E'
                                          : labels[1 + (buckets - 2 - k) % (labels.size() - 1)];
    const int a = int(std::lround(from[k] / total_ms * width));
    int b = int(std::lround(to[k] / total_ms * width));
    if (to[k] > from[k]) b = std::max(b, a + 1);  // a short bucket still gets one column
    for (int c = std::max(a, 0); c < std::min(b, width); c++) row[size_t(c)] = label;
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  const int B = argc > 1 ? std::atoi(argv[1]) : 4;
  const double bus_gbs = argc > 2 ? std::atof(argv[2]) : 400;
  if (B < 1 || bus_gbs <= 0) {
    std::fprintf(stderr, "usage: lesson_09_main [B >= 1] [bus GB/s > 0]\n");
    return 2;
  }

  std::printf("(1) ring all-reduce, simulated: every rank ends with the sum; traffic per rank\n");
  std::printf("    %4s  %12s  %14s  %s\n", "W", "sent/n", "2 (W-1)/W", "all ranks hold the sum");
  for (int W : {2, 4, 8, 16, 64}) {
    const int64_t n = 4099;
    std::vector<std::vector<double>> ranks;
    for (int r = 0; r < W; r++) ranks.push_back(lesson::randn(size_t(n), uint64_t(r + 1)));
    std::vector<double> sum(size_t(n), 0.0);
    for (const auto& buffer : ranks)
      for (int64_t i = 0; i < n; i++) sum[size_t(i)] += buffer[size_t(i)];
    const int64_t sent = ring_all_reduce(ranks);
    double worst = 0;
    for (const auto& buffer : ranks)
      for (int64_t i = 0; i < n; i++)
        worst = std::max(worst, std::abs(buffer[size_t(i)] - sum[size_t(i)]));
    std::printf("    %4d  %12.4f  %14.4f  %s (max error %.1e)\n", W, double(sent) / double(n),
                2.0 * (W - 1) / W, worst < 1e-9 ? "yes" : "NO", worst);
  }

  // GPT-2 124M: 12 layers, 768 channels, context 1024, vocabulary 50257 padded to 50304.
  const llm::GPTConfig gpt2 = llm::gpt2_preset("gpt2");
  const int W = 8, T = 1024;
  const double N = double(llm::parameter_arena_size(gpt2));
  const double ms_per_flop = 1e3 / (989e12 * 0.4);  // 40% of an H100's 989 TFLOP/s
  const double ms_per_element =
      2.0 * 2.0 * (W - 1) / W / (bus_gbs * 1e9) * 1e3;  // bf16, ring all-reduce
  const llm::GradientBuckets buckets =
      llm::gpt_gradient_buckets(gpt2, B, T, ms_per_flop, ms_per_element);
  const llm::OverlapTimeline t = overlap_timeline(buckets.compute_ms, buckets.comm_ms);
  double comm_total = 0;
  for (double ms : buckets.comm_ms) comm_total += ms;

  std::printf(
      "\n(2) GPT-2 124M on %d H100s, B=%d x T=%d per GPU, 40%% MFU, %.0f GB/s: one backward (%.2f "
      "ms) and\n"
      "    the all-reduce of %.1f MiB of bf16 gradients (%.2f ms) in %zu buckets, in the order the "
      "backward\n"
      "    finishes them: f = lnf (after the head), b, a, 9 .. 0 = layers 11 .. 0, E = wte and "
      "wpe\n",
      W, B, T, bus_gbs, t.backward_ms, N * 2 / (1 << 20), comm_total, buckets.names.size());
  std::printf("    %-8s %10s %10s %10s %10s %10s\n", "bucket", "elements", "compute", "ready",
              "reduce", "reduced");
  for (size_t k = 0; k < buckets.names.size(); k++) {
    std::printf("    %-8s %10.0f %8.3f ms %7.3f ms %7.3f ms %7.3f ms\n", buckets.names[k].c_str(),
                buckets.elements[k], buckets.compute_ms[k],
                t.ready_ms.empty() ? 0.0 : t.ready_ms[k], buckets.comm_ms[k],
                t.end_ms.empty() ? 0.0 : t.end_ms[k]);
  }
  const double after_ms =
      t.backward_ms + comm_total;  // everything reduced once the backward has ended
  const int width = 96;
  std::vector<double> compute_from(buckets.compute_ms.size()), after_start(buckets.comm_ms.size()),
      after_end(buckets.comm_ms.size());
  double at = 0, network = t.backward_ms;
  for (size_t k = 0; k < buckets.compute_ms.size(); k++) {
    compute_from[k] = at;
    at += buckets.compute_ms[k];
    after_start[k] = network;
    network += buckets.comm_ms[k];
    after_end[k] = network;
  }
  const std::vector<double>& ready = t.ready_ms;
  std::printf(
      "\n    after the backward (--overlap-comm false): %.2f ms, the communication adds %.2f ms\n",
      after_ms, comm_total);
  std::printf("      compute |%s|\n", timeline_row(compute_from, ready, after_ms, width).c_str());
  std::printf("      network |%s|\n",
              timeline_row(after_start, after_end, after_ms, width).c_str());
  std::printf("    during the backward (the default): %.2f ms, the communication adds %.2f ms\n",
              t.finished_ms, t.exposed_ms());
  std::printf("      compute |%s|\n", timeline_row(compute_from, ready, after_ms, width).c_str());
  std::printf("      network |%s|\n", timeline_row(t.start_ms, t.end_ms, after_ms, width).c_str());
  std::printf(
      "    %.0f%% of the communication hidden; what shows is mostly E, which the backward finishes "
      "last\n",
      comm_total > 0 ? 100 * (1 - t.exposed_ms() / comm_total) : 100.0);
  return 0;
}
