// Lesson 13 tests: your flash-attention forward against llm::cpu::attention_forward (in double) on
// random q, k, v, at sequence lengths that are and are not multiples of the tiles and head sizes
// from 5 to kMaxHeadSize; the saved log-sum-exp against the library's probabilities. Each launch is
// watched for races and accesses past the ends (lessons/common/cuda_check.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/cuda_check.hpp"
#include "lesson.hpp"
#include "reference.hpp"

using namespace lesson13;

namespace {

struct Shape {
  int B, NH, T, hs;
};

std::vector<float> random_floats(size_t n, uint64_t seed) {
  const std::vector<double> values = lesson::randn(n, seed);
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace

TEST_CASE("flash_attention_forward: out and lse against the CPU attention") {
  for (const Shape& s :
       {Shape{2, 2, 70, 16}, Shape{1, 1, 1, 8}, Shape{1, 3, 64, 64}, Shape{1, 1, 33, 5}}) {
    const std::string what = "flash_attention_forward (B = " + std::to_string(s.B) +
                             ", NH = " + std::to_string(s.NH) + ", T = " + std::to_string(s.T) +
                             ", hs = " + std::to_string(s.hs) + ")";
    const size_t rows = size_t(s.B) * s.NH * s.T;
    const auto qkv = random_floats(rows * 3 * s.hs, 100 + s.T);
    const Heads heads = split_heads(qkv, s.B, s.NH, s.T, s.hs);
    lesson::DeviceArray dq(heads.q), dk(heads.k), dv(heads.v);
    lesson::DeviceArray dout(random_floats(rows * s.hs, 1)), dlse(random_floats(rows, 2));
    if (!lesson::run_kernel(what, [&] {
          flash_attention_forward(dout.data(), dlse.data(), dq.data(), dk.data(), dv.data(), s.B,
                                  s.NH, s.T, s.hs);
        }))
      continue;
    std::vector<double> want_out, want_lse;
    cpu_attention(want_out, want_lse, qkv, s.B, s.NH, s.T, s.hs);

    // Row 0 of a head sees key 0 only, so its output is v_0 exactly: the first sign of a mask.
    const std::vector<float> out0 = dout.to_host();
    bool row0_is_v0 = true;
    for (int d = 0; d < s.hs; d++)
      row0_is_v0 &= std::abs(out0[size_t(d)] - heads.v[size_t(d)]) < 1e-5;
    if (!row0_is_v0)
      FAIL_CHECK(
          what << ": out row 0 differs from v row 0. Query 0 may attend to key 0 only, so its "
                  "output is v_0: are keys j > i masked (score -inf) in the diagonal tile, "
                  "and is out divided by the sum?");

    // Rows 0 .. kKeyTile - 1 see one key tile; a later row also needs the step from one tile to the
    // next, where a tile that raises the running maximum rescales what came before. Right rows in
    // the first tile and wrong rows after it point at that step.
    bool first_tile_right = true, later_tiles_right = true;
    for (size_t row = 0; row < rows; row++) {
      const int t = int(row % size_t(s.T));
      bool right = true;
      for (int d = 0; d < s.hs; d++) {
        const size_t e = row * size_t(s.hs) + size_t(d);
        right &= std::abs(out0[e] - want_out[e]) <= 1e-5 + 1e-4 * std::abs(want_out[e]);
      }
      (t < kKeyTile ? first_tile_right : later_tiles_right) &= right;
    }
    if (first_tile_right && !later_tiles_right)
      FAIL_CHECK(what << ": out is right for rows 0 .. " << kKeyTile - 1
                      << " (one key tile) and wrong after: check the step between key tiles. When "
                         "a tile raises the running maximum from m_old to m_new, running_sum and "
                         "every acc[d] must be multiplied by exp(m_old - m_new) before the tile's "
                         "terms are added; and is each tile staged from key first_key + j?");

    const lesson::Dims dims = {{"B", s.B}, {"NH", s.NH}, {"T", s.T}, {"hs", s.hs}};
    lesson::expect_device_close(what + ": out", dout, want_out, dims, 1e-4, 1e-5);
    lesson::expect_device_close(what + ": lse", dlse, want_lse,
                                {{"B", s.B}, {"NH", s.NH}, {"T", s.T}}, 1e-4, 1e-5);
  }
}
