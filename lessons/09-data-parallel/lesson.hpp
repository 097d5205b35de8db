#pragma once
// Lesson 09: data-parallel training. The functions you write in exercise.cpp.
#include <cstdint>
#include <vector>

#include "llm/dist/comm.hpp"              // llm::ShardRange {begin, end}, llm::shard_range(n, W, r)
#include "llm/dist/overlap_timeline.hpp"  // llm::OverlapTimeline

namespace lesson09 {

// ---- 1. the ring all-reduce ----
// W ranks simulated in one process: ranks[r] is rank r's buffer, all of the same length n. Chunk c
// of a buffer is llm::shard_range(n, W, c). Afterwards every buffer holds the element-wise sum over
// the ranks. Two phases of W - 1 steps each; in every step each rank r sends one chunk to its right
// neighbour (r + 1) mod W, and all W messages of a step are sent before any is received (take them
// from the buffers as they were at the start of the step):
//   reduce-scatter, s = 0 .. W-2: rank r sends chunk (r - s) mod W; the receiver ADDS it to its own
//     copy of that chunk. After the phase rank r holds the complete sum of chunk (r + 1) mod W.
//   all-gather, s = 0 .. W-2: rank r sends chunk (r + 1 - s) mod W; the receiver OVERWRITES its
//   copy.
// Returns the number of elements rank 0 sent in all: about 2 (W-1)/W n, whatever W is.
int64_t ring_all_reduce(std::vector<std::vector<double>>& ranks);

// ---- 2. a part of a buffer, reduce-scattered ----
// ZeRO-1 gives rank r the range shard_range(n, W, r) of the flat gradient buffer. When only a part
// [begin, end) of the buffer is reduce-scattered (one layer's gradients, while the backward goes
// on), rank r receives the overlap of the part with its shard. Returns the W overlaps, rank 0
// first; an empty overlap has begin == end (where exactly does not matter).
std::vector<llm::ShardRange> scatter_pieces(llm::ShardRange part, int64_t n, int W);

// ---- 3. the overlap timeline ----
// Buckets of gradients in the order the backward finishes them. Bucket k is ready once the backward
// has run compute_ms[0] + ... + compute_ms[k]; the network reduces one bucket at a time, in order,
// bucket k taking comm_ms[k]:
//   ready_k = compute_ms[0] + ... + compute_ms[k]
//   start_k = max(ready_k, end_{k-1})    (end_{-1} = 0)
//   end_k   = start_k + comm_ms[k]
// Fill ready_ms, start_ms, end_ms (one entry per bucket), backward_ms = the last ready (0 for no
// bucket) and finished_ms = max(backward_ms, the last end).
llm::OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms,
                                      const std::vector<double>& comm_ms);

}  // namespace lesson09
