// Lesson 09: data-parallel training. Write the bodies below; `scripts/lesson 09` tells you what is
// wrong.
#include "lesson.hpp"

#include <algorithm>

namespace lesson09 {

int64_t ring_all_reduce(std::vector<std::vector<double>>& ranks) {
  // TODO: W = ranks.size(), n = ranks[0].size(); chunk c is llm::shard_range(n, W, c).
  // For each of the 2 (W - 1) steps: first copy out the W messages (one chunk of each rank), then
  // deliver them (add in the first phase, overwrite in the second). Count what rank 0 sends.
  // Careful with (r - s) mod W in C++: (r - s) % W is negative when r < s; use (r - s + W) % W.
  return 0;
}

std::vector<llm::ShardRange> scatter_pieces(llm::ShardRange part, int64_t n, int W) {
  // TODO: for each rank r, the overlap of `part` with llm::shard_range(n, W, r).
  return {};
}

llm::OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms,
                                      const std::vector<double>& comm_ms) {
  // TODO: one pass over the buckets, keeping the compute time so far and the time the network is
  // free.
  return {};
}

}  // namespace lesson09
