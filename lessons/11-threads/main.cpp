// Lesson 11's result. On a GPU: your four kernels at sizes that fill it, their achieved bandwidth
// against the device's peak (they move bytes and do almost no arithmetic: memory bound), with the
// naive transpose's strided writes showing what uncoalesced access costs. On the CPU emulation:
// each kernel once at a small size, checked, and no timing (see below why).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/cuda.hpp"
#include "common/random.hpp"
#include "lesson.hpp"

using namespace lesson11;
using lesson::DeviceArray;

namespace {

std::vector<float> random_floats(size_t n, uint64_t seed) {
  const std::vector<double> values = lesson::randn(n, seed);
  return std::vector<float>(values.begin(), values.end());
}

// The largest |yours - reference| over the output.
double worst_error(const DeviceArray& out, const std::vector<double>& want) {
  const std::vector<float> got = out.to_host();
  double worst = 0;
  for (size_t i = 0; i < got.size(); i++)
    worst = std::max(worst, std::isnan(got[i]) ? INFINITY : std::abs(got[i] - want[i]));
  return worst;
}

}  // namespace

int main() {
  const lesson::Device device = lesson::this_device();
  std::printf("device: %s\n", device.name.c_str());
  // A GPU needs millions of threads in flight to reach its bandwidth; the emulation runs one host
  // thread per CUDA thread, so it gets sizes it finishes in a second.
  const int n = device.emulated ? 4000 : 1 << 26;
  const int rows = device.emulated ? 64 : 8192, cols = device.emulated ? 96 : 8192;

  const auto a = random_floats(size_t(n), 1), b = random_floats(size_t(n), 2);
  const auto m = random_floats(size_t(rows) * cols, 3);
  DeviceArray da(a), db(b), dout(a), dm(m), dmt(m),
      dpartial(random_floats(size_t(n / kBlock + 1), 4));

  struct Row {
    const char* kernel;
    double bytes;  // read + written once each: the least any kernel doing this job moves
    double worst_error;
    double ms;
  };
  std::vector<Row> table;
  auto measure = [&](const char* kernel, double bytes, auto&& run, auto&& check) {
    run();
    const double error = check();
    const double ms = device.emulated ? 0 : lesson::time_ms(run, 20);
    table.push_back({kernel, bytes, error, ms});
  };

  measure(
      "add", 12.0 * n, [&] { add(dout.data(), da.data(), db.data(), n); },
      [&] {
        std::vector<double> want(static_cast<size_t>(n));
        for (size_t i = 0; i < want.size(); i++) want[i] = double(a[i]) + b[i];
        return worst_error(dout, want);
      });
  measure(
      "transpose", 8.0 * rows * cols, [&] { transpose(dmt.data(), dm.data(), rows, cols); },
      [&] {
        std::vector<double> want(m.size());
        for (int r = 0; r < rows; r++)
          for (int c = 0; c < cols; c++) want[size_t(c) * rows + r] = m[size_t(r) * cols + c];
        return worst_error(dmt, want);
      });
  measure(
      "block_sums", 4.0 * n, [&] { block_sums(dpartial.data(), da.data(), n); },
      [&] {
        const int blocks = (n + kBlock - 1) / kBlock;
        std::vector<double> want(size_t(n / kBlock + 1), 0.0);
        for (int i = 0; i < n; i++) want[size_t(i / kBlock)] += a[size_t(i)];
        const std::vector<float> got = dpartial.to_host();
        double worst = 0;
        for (int k = 0; k < blocks; k++)
          worst = std::max(worst, std::abs(got[size_t(k)] - want[size_t(k)]));
        return worst;
      });
  measure(
      "softmax_rows", 8.0 * rows * cols, [&] { softmax_rows(dmt.data(), dm.data(), rows, cols); },
      [&] {
        std::vector<double> want(m.size());
        for (int r = 0; r < rows; r++) {
          const float* x = &m[size_t(r) * cols];
          const double mx = *std::max_element(x, x + cols);
          double sum = 0;
          for (int j = 0; j < cols; j++) sum += std::exp(x[j] - mx);
          for (int j = 0; j < cols; j++) want[size_t(r) * cols + j] = std::exp(x[j] - mx) / sum;
        }
        return worst_error(dmt, want);
      });

  std::printf("\n%-14s %14s", "kernel", "max |error|");
  if (!device.emulated)
    std::printf(" %10s %10s %10s %8s", "MB moved", "time ms", "GB/s", "of peak");
  std::printf("\n");
  for (const Row& row : table) {
    std::printf("%-14s %14.2e", row.kernel, row.worst_error);
    if (!device.emulated) {
      const double gb_per_s = row.bytes / (row.ms * 1e-3) / 1e9;
      std::printf(" %10.1f %10.3f %10.0f", row.bytes / 1e6, row.ms, gb_per_s);
      if (device.peak_gb_per_s > 0)
        std::printf(" %7.0f%%", 100 * gb_per_s / device.peak_gb_per_s);
      else
        std::printf(" %8s", "unknown");
    }
    std::printf("\n");
  }
  if (device.emulated) {
    std::printf(
        "\nCorrectness only: this is the CPU emulation of CUDA, one fiber per CUDA thread and\n"
        "one block at a time, so its times measure fiber switching on this CPU, nothing a GPU\n"
        "does. On a GPU the same program prints each kernel's GB/s against the device's peak.\n");
  } else if (device.peak_gb_per_s > 0) {
    std::printf("\npeak DRAM bandwidth of this device (data sheet): %.0f GB/s\n",
                device.peak_gb_per_s);
  }
  return 0;
}
