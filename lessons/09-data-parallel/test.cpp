// Lesson 09 tests: your ring all-reduce against the plain sum over ranks (and the traffic it must
// cost), your pieces against llm::intersect / llm::shard_range, your timeline against
// llm::overlap_timeline, on random inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "common/check.hpp"
#include "lesson.hpp"

using namespace lesson09;
using lesson::expect_close;
using lesson::randn;

TEST_CASE("ring_all_reduce: every rank ends with the sum, having sent 2 (W-1)/W of the buffer") {
  for (int W : {2, 3, 4, 7}) {
    for (int64_t n : {1, 5, 64, 1001}) {  // n < W: some chunks are empty
      std::vector<std::vector<double>> ranks;
      for (int r = 0; r < W; r++) ranks.push_back(randn(size_t(n), uint64_t(100 * W + r)));
      std::vector<double> sum(size_t(n), 0.0);
      for (const auto& buffer : ranks)
        for (int64_t i = 0; i < n; i++) sum[size_t(i)] += buffer[size_t(i)];
      const int64_t sent = ring_all_reduce(ranks);
      const std::string at = " (W=" + std::to_string(W) + ", n=" + std::to_string(n) + ")";
      for (int r = 0; r < W; r++)
        expect_close("rank " + std::to_string(r) + "'s buffer" + at, ranks[size_t(r)], sum,
                     {{"n", n}}, 1e-12, 1e-12);
      // Rank 0 sends every chunk but one in each phase: all but chunk 1 (reduce-scatter) and all
      // but chunk 2 mod W (all-gather).
      const int64_t expected =
          2 * n - llm::shard_range(n, W, 1).size() - llm::shard_range(n, W, 2 % W).size();
      CHECK_MESSAGE(sent == expected, "elements rank 0 sent" << at << ": yours " << sent
                                                             << ", expected " << expected);
    }
  }
}

TEST_CASE(
    "scatter_pieces: each rank's overlap of the part with its ZeRO-1 shard, as llm::intersect") {
  std::mt19937_64 rng(9);
  for (int W : {1, 2, 3, 8}) {
    for (int64_t n : {10, 1031}) {
      for (int trial = 0; trial < 20; trial++) {
        int64_t a = int64_t(rng() % uint64_t(n + 1)), b = int64_t(rng() % uint64_t(n + 1));
        if (a > b) std::swap(a, b);
        const llm::ShardRange part{a, b};
        const std::vector<llm::ShardRange> got = scatter_pieces(part, n, W);
        const std::string at = "part [" + std::to_string(a) + ", " + std::to_string(b) +
                               ") of n=" + std::to_string(n) + ", W=" + std::to_string(W);
        REQUIRE_MESSAGE(got.size() == size_t(W),
                        at << ": yours has " << got.size() << " pieces, expected " << W);
        for (int r = 0; r < W; r++) {
          const llm::ShardRange want = llm::intersect(part, llm::shard_range(n, W, r));
          const llm::ShardRange mine = got[size_t(r)];
          const bool same =
              mine.size() == want.size() && (want.size() == 0 || mine.begin == want.begin);
          CHECK_MESSAGE(same, at << ", rank " << r << ": yours [" << mine.begin << ", " << mine.end
                                 << "), expected [" << want.begin << ", " << want.end << ")");
        }
      }
    }
  }
}

TEST_CASE("overlap_timeline: ready, start and end of every bucket, as llm::overlap_timeline") {
  // Random buckets where the network is sometimes the bottleneck and sometimes idle, and the edges:
  // one bucket, free communication, communication far slower than the compute.
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases;
  for (uint64_t seed : {1, 2, 3}) {
    std::vector<double> compute = randn(14, seed, 1.0, 3.0), comm = randn(14, seed + 10, 2.0, 3.0);
    for (double& x : compute) x = std::abs(x);
    for (double& x : comm) x = std::abs(x);
    cases.push_back({compute, comm});
  }
  cases.push_back({{2.5}, {1.0}});
  cases.push_back({{1, 2, 3}, {0, 0, 0}});
  cases.push_back({{1, 1, 1}, {10, 10, 10}});
  for (size_t k = 0; k < cases.size(); k++) {
    const auto& [compute, comm] = cases[k];
    const llm::OverlapTimeline want = llm::overlap_timeline(compute, comm);
    const llm::OverlapTimeline got = overlap_timeline(compute, comm);
    const std::string at =
        " (case " + std::to_string(k) + ", " + std::to_string(compute.size()) + " buckets)";
    const int64_t buckets = int64_t(compute.size());
    expect_close("ready_ms" + at, got.ready_ms, want.ready_ms, {{"bucket", buckets}});
    expect_close("start_ms" + at, got.start_ms, want.start_ms, {{"bucket", buckets}});
    expect_close("end_ms" + at, got.end_ms, want.end_ms, {{"bucket", buckets}});
    expect_close("backward_ms" + at, got.backward_ms, want.backward_ms);
    expect_close("finished_ms" + at, got.finished_ms, want.finished_ms);
  }
}
