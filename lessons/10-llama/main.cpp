// Lesson 10's result: what RoPE does to attention scores. One query vector q and one key vector k
// (hs = 16) are placed at every pair of positions (m, n), m >= n, and the score q_m . k_n is
// printed as a causal matrix. With your rope_forward every diagonal (same distance m - n) holds one
// value: the score sees only how far apart two tokens are. Beside it, GPT-2's way: a position
// vector added to the token (here random, like a learned wpe at initialisation), whose scores
// change along every diagonal: the model has to learn relative position from absolute ones.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/random.hpp"
#include "lesson.hpp"

using namespace lesson10;

namespace {
constexpr int64_t hs = 16, P = 8;  // head size, positions shown
constexpr double theta = 10000.0;

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

// Prints the causal (P, P) matrix and returns the largest spread (max - min) along a diagonal.
double print_scores(const char* title, const std::vector<double>& score) {
  std::printf("\n%s\n      ", title);
  for (int64_t n = 0; n < P; n++) std::printf("  key %-2lld", (long long)n);
  std::printf("\n");
  for (int64_t m = 0; m < P; m++) {
    std::printf("q %-3lld", (long long)m);
    for (int64_t n = 0; n <= m; n++) std::printf(" %7.3f", score[m * P + n]);
    std::printf("\n");
  }
  double worst = 0;
  for (int64_t d = 0; d < P; d++) {
    double lo = 1e300, hi = -1e300;
    for (int64_t n = 0; n + d < P; n++) {
      lo = std::min(lo, score[(n + d) * P + n]);
      hi = std::max(hi, score[(n + d) * P + n]);
    }
    worst = std::max(worst, hi - lo);
  }
  return worst;
}
}  // namespace

int main() {
  const std::vector<double> q = lesson::randn(hs, 1), k = lesson::randn(hs, 2);

  // RoPE: turn q by its position m and k by its position n, then the dot product.
  std::vector<double> rope_score(P * P, 0.0);
  for (int64_t m = 0; m < P; m++)
    for (int64_t n = 0; n <= m; n++) {
      std::vector<double> qm(hs), kn(hs);
      rope_forward(qm.data(), q.data(), 1, 1, hs, hs, 1, m, theta);
      rope_forward(kn.data(), k.data(), 1, 1, hs, hs, 1, n, theta);
      rope_score[m * P + n] = dot(qm, kn);
    }
  const double rope_spread = print_scores("RoPE: score of q at position m and k at n", rope_score);

  // GPT-2: the same q and k with a position vector p_m, p_n added (random N(0, 0.5), as a learned
  // table might look), then the dot product.
  const std::vector<double> wpe = lesson::randn(P * hs, 3, 0.5);
  std::vector<double> additive_score(P * P, 0.0);
  for (int64_t m = 0; m < P; m++)
    for (int64_t n = 0; n <= m; n++) {
      std::vector<double> qm = q, kn = k;
      for (int64_t i = 0; i < hs; i++) qm[i] += wpe[m * hs + i], kn[i] += wpe[n * hs + i];
      additive_score[m * P + n] = dot(qm, kn);
    }
  const double additive_spread =
      print_scores("GPT-2 style: q + p_m and k + p_n, then the score", additive_score);

  std::printf(
      "\nlargest spread along a diagonal (same distance m - n):\n"
      "  RoPE      %.2e   (0 up to rounding: the score is a function of m - n only)\n"
      "  additive  %.2e   (the same distance scores differently at different places)\n",
      rope_spread, additive_spread);
  // Relative, and not constant: an untouched stub (every score 0) is neither rotation nor answer.
  const auto [lowest, highest] = std::minmax_element(rope_score.begin(), rope_score.end());
  if (!(rope_spread < 1e-9) || !(*highest - *lowest > 1e-6)) {
    std::printf("your rope_forward does not turn q and k yet: run scripts/lesson 10\n");
    return 1;
  }
  return 0;
}
