// Lesson 13's result: your flash-attention forward against the library's CPU attention, and what
// it saves: the backward needs only lse (B, NH, T), where the textbook attention keeps P
// (B, NH, T, T). On a GPU, at GPT-2 small's shapes (B = 8, NH = 12, T = 1024, hs = 64), its TFLOP/s
// against the FP32 peak; on the CPU emulation, a small size, correctness only.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cuda.hpp"
#include "common/random.hpp"
#include "lesson.hpp"
#include "reference.hpp"

using namespace lesson13;

namespace {
std::string size_string(double bytes) {
  char text[32];
  if (bytes < 1e6)
    std::snprintf(text, sizeof(text), "%.1f KB", bytes / 1e3);
  else
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1e6);
  return text;
}
}  // namespace

int main() {
  const lesson::Device device = lesson::this_device();
  std::printf("device: %s\n", device.name.c_str());
  const int B = device.emulated ? 1 : 8, NH = device.emulated ? 2 : 12;
  const int T = device.emulated ? 96 : 1024, hs = device.emulated ? 32 : 64;
  std::printf("causal attention, B = %d, NH = %d, T = %d, hs = %d\n\n", B, NH, T, hs);

  const size_t rows = size_t(B) * NH * T;
  const std::vector<double> values = lesson::randn(rows * 3 * hs, 1);
  const std::vector<float> qkv(values.begin(), values.end());
  const Heads heads = split_heads(qkv, B, NH, T, hs);
  // out and lse start as copies of q and of q's first values: anything but the answer.
  lesson::DeviceArray dq(heads.q), dk(heads.k), dv(heads.v), dout(heads.q),
      dlse(std::vector<float>(heads.q.begin(), heads.q.begin() + long(rows)));
  auto run = [&] {
    flash_attention_forward(dout.data(), dlse.data(), dq.data(), dk.data(), dv.data(), B, NH, T,
                            hs);
  };
  run();
  lesson::check_cuda(cudaStreamSynchronize(nullptr), "flash_attention_forward");

  // The CPU reference on the first sequence (b = 0: its NH heads come first in every array).
  std::vector<double> want_out, want_lse;
  const std::vector<float> qkv0(qkv.begin(), qkv.begin() + long(size_t(T) * 3 * NH * hs));
  cpu_attention(want_out, want_lse, qkv0, 1, NH, T, hs);
  const std::vector<float> out = dout.to_host(), lse = dlse.to_host();
  double out_error = 0, lse_error = 0;
  for (size_t e = 0; e < want_out.size(); e++)
    out_error = std::max(out_error, std::isnan(out[e]) ? INFINITY : std::abs(out[e] - want_out[e]));
  for (size_t r = 0; r < want_lse.size(); r++)
    lse_error = std::max(lse_error, std::isnan(lse[r]) ? INFINITY : std::abs(lse[r] - want_lse[r]));
  std::printf("against llm::cpu::attention_forward (sequence 0): max |error| out %.2e, lse %.2e\n",
              out_error, lse_error);

  const double p_bytes = double(B) * NH * T * T * 4, lse_bytes = double(B) * NH * T * 4;
  std::printf("saved for the backward: lse %s (P, as the CPU attention keeps it: %s)\n",
              size_string(lse_bytes).c_str(), size_string(p_bytes).c_str());

  if (device.emulated) {
    std::printf(
        "\nCorrectness only: this is the CPU emulation of CUDA (one fiber per CUDA thread,\n"
        "one block at a time), whose times say nothing about a GPU. On a GPU the same program\n"
        "runs GPT-2 small's shapes and prints its TFLOP/s against the device's FP32 peak.\n");
    return 0;
  }
  // q k^T and P v, 2 flops per multiply-add, over the lower triangle: 2 x 2 x (T^2 / 2) hs per
  // head.
  const double flops = 2.0 * B * NH * double(T) * T * hs;
  const double ms = lesson::time_ms(run, 10);
  const double tflops = flops / (ms * 1e-3) / 1e12;
  std::printf("\ntime %.3f ms: %.2f TFLOP/s", ms, tflops);
  if (device.peak_fp32_tflops > 0)
    std::printf(", %.0f%% of the FP32 peak (%.0f TFLOP/s)", 100 * tflops / device.peak_fp32_tflops,
                device.peak_fp32_tflops);
  std::printf("\n");
  return 0;
}
