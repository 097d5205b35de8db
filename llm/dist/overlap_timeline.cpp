#include "llm/dist/overlap_timeline.hpp"

#include <algorithm>
#include <string>

#include "llm/core/error.hpp"

namespace llm {

OverlapTimeline overlap_timeline(const std::vector<double>& compute_ms, const std::vector<double>& comm_ms) {
  check(compute_ms.size() == comm_ms.size(), "overlap_timeline: " + std::to_string(compute_ms.size()) +
                                                 " compute times for " + std::to_string(comm_ms.size()) + " buckets");
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

}  // namespace llm
