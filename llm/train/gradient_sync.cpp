#include "llm/train/gradient_sync.hpp"

#include <vector>

#include "llm/train/optimizer.hpp"

namespace llm {

GradientSync::GradientSync(Comm& comm, GPT& model, bool overlap)
    : comm_(comm), flat_grads_(flat_view(model.grads)), overlap_(overlap) {}

GPT::GradientsReady GradientSync::start_step(bool scatter) {
  scatter_ = scatter;
  if (!overlap_) return {};
  // One call per group: NcclComm runs a group's reductions as one NCCL group (one launch).
  return [this](const std::vector<Tensor>& final_grads) {
    std::vector<ShardRange> parts;
    for (const Tensor& g : final_grads) parts.push_back(range_within(flat_grads_, g));
    comm_.start_reduce(flat_grads_, parts, ReduceOp::average, scatter_);
  };
}

void GradientSync::finish_step() {
  if (overlap_)
    comm_.finish_reductions();
  else if (scatter_)
    comm_.reduce_scatter(flat_grads_, ReduceOp::average);
  else
    comm_.all_reduce(flat_grads_, ReduceOp::average);
}

}  // namespace llm
