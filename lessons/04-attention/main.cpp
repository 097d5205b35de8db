// Lesson 04's result: the attention maps your attention_forward computes, drawn in the terminal,
// for a head built by hand to look one token back and for a random head; then your backward against
// finite differences.
#include <cmath>
#include <cstdio>

#include "common/random.hpp"
#include "lesson.hpp"
#include "tests/gradcheck.hpp"

using namespace lesson04;

namespace {
void draw(const double* P, int64_t T) {
  const char* shades = " .:-=+*#%@";
  for (int64_t i = 0; i < T; i++) {
    std::printf("    t=%2lld |", (long long)i);
    for (int64_t j = 0; j < T; j++)
      std::printf("%c%c", shades[int(std::round(P[i * T + j] * 9))], ' ');
    std::printf("|\n");
  }
}
}  // namespace

int main() {
  const int64_t B = 1, T = 12, C = 32, NH = 2, hs = C / NH;
  std::vector<double> qkv = lesson::randn(B * T * 3 * C, 1, 0.5);
  // Head 0 by hand: the key of position s is e_s (a one-hot "I am position s"), the query of
  // position t is 16 e_{t-1} ("I am looking for position t-1"). The score q_t . k_s / sqrt(hs) is
  // 16 / 4 = 4 for s = t - 1 and 0 for every other s <= t: P puts e^4 / (e^4 + t) on the previous
  // token.
  for (int64_t t = 0; t < T; t++)
    for (int64_t d = 0; d < hs; d++) {
      qkv[t * 3 * C + d] = (t > 0 && d == t - 1) ? 16.0 : 0.0;  // q, head 0
      qkv[t * 3 * C + C + d] = (d == t) ? 1.0 : 0.0;            // k, head 0
    }
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  std::printf("head 0 (built to attend to the previous token), P[t, s], darker = more:\n");
  draw(att.data(), T);
  std::printf("head 1 (random q, k):\n");
  draw(att.data() + T * T, T);

  // L = sum(w * out): your attention_backward vs finite differences of your attention_forward
  const auto w = lesson::randn(B * T * C, 2);
  auto loss = [&](const std::vector<double>& x) {
    std::vector<double> o(B * T * C), a(B * NH * T * T);
    attention_forward(o.data(), a.data(), x.data(), B, T, C, NH);
    double s = 0;
    for (size_t i = 0; i < o.size(); i++) s += w[i] * o[i];
    return s;
  };
  std::vector<double> dqkv(qkv.size(), 0.0), datt(att.size());
  attention_backward(dqkv.data(), datt.data(), w.data(), qkv.data(), att.data(), B, T, C, NH);
  gradcheck::Options options;
  options.max_checks = 300;
  const gradcheck::Result r = gradcheck::check_gradient(loss, qkv, dqkv, options);
  std::printf(
      "attention_backward dqkv vs finite differences: worst relative error %.2e over %lld entries  "
      "%s\n",
      r.max_error, (long long)r.checked, r.ok ? "ok" : "WRONG");
  return 0;
}
