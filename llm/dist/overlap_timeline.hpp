#pragma once
// defines: llm::OverlapTimeline, llm::overlap_timeline: when each gradient reduction runs if it
//          starts as soon as the backward has produced its bucket and the network is free;
//          llm::GradientBuckets, llm::gpt_gradient_buckets: GPT-2's buckets with their times
//
// The model behind `glassbox info --world N` and lesson 09. Buckets are numbered in the order the
// backward finishes them (llm/train/gradient_sync.hpp: lnf, layer L-1, ..., layer 0, embeddings).
// Bucket k is ready once the backward has run compute_ms[0] + ... + compute_ms[k]. The network
// reduces one bucket at a time, in that order, bucket k taking comm_ms[k]:
//
//   ready_k = compute_ms[0] + ... + compute_ms[k]
//   start_k = max(ready_k, end_{k-1})          (end_{-1} = 0)
//   end_k   = start_k + comm_ms[k]
//
// The backward with its communication overlapped ends at max(ready_last, end_last); without overlap
// it would end at ready_last + sum(comm_ms). exposed_ms() is what the communication adds to the
// backward alone: only the part that could not hide behind later compute.
#include <string>
#include <vector>

#include "llm/model/config.hpp"

namespace llm {

struct OverlapTimeline {
  std::vector<double> ready_ms, start_ms, end_ms;  // per bucket, from the start of the backward
  double backward_ms = 0;                          // the compute alone: ready_ms.back()
  double finished_ms = 0;  // compute and communication both done: max(backward_ms, end_ms.back())
  double exposed_ms() const { return finished_ms - backward_ms; }
};

// compute_ms and comm_ms have one entry per bucket (the same number; may be empty: all zeros).
OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms,
                                 const std::vector<double>& comm_ms);

// The buckets of one backward of the GPT over B x T tokens, in the order GradientSync reports them,
// with the time to compute each (its share of the backward's FLOPs, at ms_per_flop) and to reduce
// it (its parameter count, at reduce_ms_per_element). Per token the backward does 2/3 of the
// training FLOPs (llm/model/config.hpp): the tied head 4 C Vp before the first bucket, a layer 48
// C^2 + 8 C T; the embedding's backward is a gather-add (no FLOPs to speak of).
//   "lnf"        2 C elements             (its compute: the head's and lnf's backward)
//   "layer l"    12 C^2 + 13 C elements   for l = L-1 down to 0
//   "wte+wpe"    (Vp + maxT) C elements
struct GradientBuckets {
  std::vector<std::string> names;
  std::vector<double> compute_ms, comm_ms, elements;
};
GradientBuckets gpt_gradient_buckets(const GPTConfig& config, int B, int T, double ms_per_flop,
                                     double reduce_ms_per_element);

}  // namespace llm
