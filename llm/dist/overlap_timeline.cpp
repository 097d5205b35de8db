#include "llm/dist/overlap_timeline.hpp"

#include <algorithm>
#include <string>

#include "llm/core/error.hpp"

namespace llm {

OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms,
                                 const std::vector<double>& comm_ms) {
  check(compute_ms.size() == comm_ms.size(),
        "overlap_timeline: " + std::to_string(compute_ms.size()) + " compute times for " +
            std::to_string(comm_ms.size()) + " buckets");
  OverlapTimeline t;
  double computed = 0, network_free = 0;
  for (size_t k = 0; k < compute_ms.size(); k++) {
    computed += compute_ms[k];
    const double start = std::max(computed, network_free);
    network_free = start + comm_ms[k];
    t.ready_ms.push_back(computed);
    t.start_ms.push_back(start);
    t.end_ms.push_back(network_free);
  }
  t.backward_ms = computed;
  t.finished_ms = std::max(computed, network_free);
  return t;
}

GradientBuckets gpt_gradient_buckets(const GPTConfig& config, int B, int T, double ms_per_flop,
                                     double reduce_ms_per_element) {
  const double C = config.n_embd, Vp = config.padded_vocab_size(), tokens = double(B) * T;
  GradientBuckets b;
  auto add = [&](std::string name, double flops_per_token, double elements) {
    b.names.push_back(std::move(name));
    b.compute_ms.push_back(flops_per_token * tokens * ms_per_flop);
    b.comm_ms.push_back(elements * reduce_ms_per_element);
    b.elements.push_back(elements);
  };
  add("lnf", 4 * C * Vp, 2 * C);
  for (int l = config.n_layer - 1; l >= 0; l--)
    add("layer " + std::to_string(l), 48 * C * C + 8 * C * T, 12 * C * C + 13 * C);
  add("wte+wpe", 0, (Vp + config.max_seq_len) * C);
  return b;
}

}  // namespace llm
