// Lesson 11 tests: your kernels against the formulas computed on the CPU in double, on random
// inputs at sizes that are not multiples of the block (so the last block has idle threads). Each
// launch is watched for data races, writes past an output's end and reads past an input's end
// (lessons/common/cuda_check.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/cuda_check.hpp"
#include "lesson.hpp"

using namespace lesson11;
using lesson::DeviceArray;
using lesson::expect_device_close;
using lesson::run_kernel;

namespace {
std::vector<float> random_floats(size_t n, uint64_t seed, double stddev = 1.0) {
  const std::vector<double> values = lesson::randn(n, seed, stddev);
  return std::vector<float>(values.begin(), values.end());
}
}  // namespace

TEST_CASE("add: one thread per element, the last block partly idle") {
  for (int n : {1000, 1, 3 * kBlock}) {
    const auto a = random_floats(size_t(n), 1), b = random_floats(size_t(n), 2);
    DeviceArray da(a), db(b), dout(random_floats(size_t(n), 3));
    const std::string what = "add, n = " + std::to_string(n);
    if (!run_kernel(what, [&] { add(dout.data(), da.data(), db.data(), n); })) continue;
    std::vector<double> want(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) want[size_t(i)] = double(a[size_t(i)]) + double(b[size_t(i)]);
    expect_device_close(what + ": out", dout, want, {{"i", n}});
  }
}

TEST_CASE("transpose: a 2D grid of 2D blocks") {
  for (auto [rows, cols] : {std::pair{37, 50}, std::pair{1, 17}, std::pair{32, 16}}) {
    const auto in = random_floats(size_t(rows * cols), 4);
    DeviceArray din(in), dout(random_floats(size_t(rows * cols), 5));
    const std::string what =
        "transpose (rows = " + std::to_string(rows) + ", cols = " + std::to_string(cols) + ")";
    if (!run_kernel(what, [&] { transpose(dout.data(), din.data(), rows, cols); })) continue;
    std::vector<double> want(static_cast<size_t>(rows * cols));
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) want[size_t(c * rows + r)] = in[size_t(r * cols + c)];
    expect_device_close(what + ": out", dout, want, {{"c", cols}, {"r", rows}});
  }
}

TEST_CASE("block_sums: shared memory, __syncthreads, then warp shuffles") {
  for (int n : {1000, 31, 2 * kBlock}) {
    const auto x = random_floats(size_t(n), 6);
    const int blocks = (n + kBlock - 1) / kBlock;
    DeviceArray dx(x), dpartial(random_floats(size_t(blocks), 7));
    const std::string what = "block_sums, n = " + std::to_string(n);
    if (!run_kernel(what, [&] { block_sums(dpartial.data(), dx.data(), n); })) continue;
    std::vector<double> want(size_t(blocks), 0.0);
    for (int i = 0; i < n; i++) want[size_t(i / kBlock)] += x[size_t(i)];
    // float sums of 256 values of size ~1 in a different order: agree to ~1e-5 of the total
    expect_device_close(what + ": partial", dpartial, want, {{"block", blocks}}, 1e-5, 1e-4);
  }
}

TEST_CASE("softmax_rows: the online softmax, one warp per row") {
  for (auto [rows, cols] : {std::pair{6, 300}, std::pair{3, 5}, std::pair{4, 64}}) {
    auto in = random_floats(size_t(rows * cols), 8, 3.0);
    in[size_t(cols - 1)] = 200.0f;  // edge case: exp(200) overflows a float without the maximum
    DeviceArray din(in), dout(random_floats(size_t(rows * cols), 9));
    const std::string what =
        "softmax_rows (rows = " + std::to_string(rows) + ", cols = " + std::to_string(cols) + ")";
    if (!run_kernel(what, [&] { softmax_rows(dout.data(), din.data(), rows, cols); })) continue;
    std::vector<double> want(static_cast<size_t>(rows * cols));
    for (int r = 0; r < rows; r++) {
      const float* x = &in[size_t(r * cols)];
      const double m = *std::max_element(x, x + cols);
      double sum = 0;
      for (int j = 0; j < cols; j++) sum += std::exp(x[j] - m);
      for (int j = 0; j < cols; j++) want[size_t(r * cols + j)] = std::exp(x[j] - m) / sum;
    }
    expect_device_close(what + ": out", dout, want, {{"row", rows}, {"col", cols}}, 1e-5, 1e-7);
  }
}
