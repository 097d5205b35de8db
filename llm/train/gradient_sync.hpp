#pragma once
// defines: llm::GradientSync, the data-parallel part of a step between the backward and the
//          optimizer: the gradients averaged over the ranks
//
// W ranks each hold the gradients of their own micro-batches; the optimizer needs their mean. Two
// ways to get it, with the same result (bit for bit with 2 ranks, where a + b is b + a;
// tests/dist/distributed.sh checks it):
//
//   after the backward (--overlap-comm false; the default on CPUs): one all-reduce of the whole
//     flat gradient arena (with ZeRO-1 a reduce-scatter: each rank gets the mean of its own shard
//     only) once the backward has ended. The GPU idles while the network works: for GPT-2 124M on
//     8 H100s, ~1 ms of every ~35 ms step.
//
//   during the backward (--overlap-comm true; the default on GPUs): the backward reports each group
//     of gradients as it finishes them (GPT::GradientsReady: lnf's, then layer L-1's, ..., layer
//     0's, then the embeddings') and that group's reduction starts at once, while the backward goes
//     on with the layers below. Layer l's communication runs beside layer l-1's backward, so only
//     the last group's is not hidden. This is PyTorch DDP's gradient buckets (Li et al., "PyTorch
//     Distributed", VLDB 2020) with one bucket per layer, and llm.c's per-layer reduce-scatter.
//
// Where the overlap happens: on a GPU NcclComm queues the reductions on a second CUDA stream, which
// runs beside the compute stream while NVLink's or the NIC's engines move the bytes. On the CPU,
// MpiComm's non-blocking collectives advance whenever the next group is started, but the cores that
// would compute are the ones that copy, so there it gains nothing (measured ~1% slower: see
// experiments/distributed/README.md); it runs there, and is tested there, all the same.
#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

class GradientSync {
 public:
  // overlap: reduce during the backward. (SingleComm's reductions do nothing; an NcclComm of one
  // rank, --comm nccl on one GPU, runs the whole overlapped path.)
  GradientSync(Comm& comm, GPT& model, bool overlap);

  bool overlaps() const { return overlap_; }

  // Call before the step's last backward (the one after which the gradients are complete: the last
  // micro-step when accumulating). Returns what that backward gets as on_ready: empty without
  // overlap. scatter: ZeRO-1, each rank needs only its shard of the mean (a reduce-scatter).
  GPT::GradientsReady start_step(bool scatter);
  // After that backward: returns with the gradients averaged over the ranks (with scatter: in this
  // rank's shard of the flat arena; the rest of it is then unspecified).
  void finish_step();

 private:
  Comm& comm_;
  Tensor flat_grads_;  // the model's gradient arena as one flat tensor
  bool overlap_;
  bool scatter_ = false;  // of the step in progress
};

}  // namespace llm
