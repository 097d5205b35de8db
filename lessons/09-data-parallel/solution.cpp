// Lesson 09, reference solution. The ring all-reduce has no twin in the library (NCCL and MPI run
// it for glassbox): the tests check it against the plain sum. The other two are the library's:
// llm::intersect and llm::shard_range (what MpiComm and NcclComm do in start_reduce), and
// llm::overlap_timeline (what `glassbox info --world N` plays through).
#include "lesson.hpp"

namespace lesson09 {

int64_t ring_all_reduce(std::vector<std::vector<double>>& ranks) {
  const int W = int(ranks.size());
  const int64_t n = W > 0 ? int64_t(ranks[0].size()) : 0;
  int64_t sent_by_rank0 = 0;
  for (int phase = 0; phase < 2; phase++) {  // 0: reduce-scatter (add), 1: all-gather (overwrite)
    for (int s = 0; s < W - 1; s++) {
      // Every rank's message of this step, taken before any is delivered.
      std::vector<std::vector<double>> messages(static_cast<size_t>(W));
      std::vector<llm::ShardRange> chunks(static_cast<size_t>(W));
      for (int r = 0; r < W; r++) {
        const int c = phase == 0 ? (r - s + W) % W : (r + 1 - s + W) % W;
        chunks[size_t(r)] = llm::shard_range(n, W, c);
        messages[size_t(r)].assign(ranks[size_t(r)].begin() + chunks[size_t(r)].begin,
                                   ranks[size_t(r)].begin() + chunks[size_t(r)].end);
      }
      sent_by_rank0 += chunks[0].size();
      for (int r = 0; r < W; r++) {
        std::vector<double>& receiver = ranks[size_t((r + 1) % W)];
        const llm::ShardRange chunk = chunks[size_t(r)];
        for (int64_t i = chunk.begin; i < chunk.end; i++) {
          const double value = messages[size_t(r)][size_t(i - chunk.begin)];
          receiver[size_t(i)] = phase == 0 ? receiver[size_t(i)] + value : value;
        }
      }
    }
  }
  return sent_by_rank0;
}

std::vector<llm::ShardRange> scatter_pieces(llm::ShardRange part, int64_t n, int W) {
  std::vector<llm::ShardRange> pieces;
  for (int r = 0; r < W; r++) pieces.push_back(llm::intersect(part, llm::shard_range(n, W, r)));
  return pieces;
}

llm::OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms,
                                      const std::vector<double>& comm_ms) {
  return llm::overlap_timeline(compute_ms, comm_ms);
}

}  // namespace lesson09
