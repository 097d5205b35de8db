#pragma once
// defines: llm::train, the training loop behind `glassbox train`.
//
// One step: grad_accum micro-steps of forward+backward (gradients accumulate, each scaled by
// 1/grad_accum), the global gradient norm, clipping, the learning rate of this step, one AdamW
// update (with --optimizer muon: AdamW for the embeddings, gains and biases and Muon for the hidden
// matrices, llm/train/muon.hpp). Around it: validation loss every eval_interval steps, a progress
// line every log_interval steps, one metrics.jsonl line per step, checkpoints every
// checkpoint_interval steps and at the end.
//
// Data parallel (`mpirun -np W glassbox train ...`, llm/dist/comm.hpp): every rank holds the model
// and runs grad_accum micro-steps on its own slice of the global batch of W * batch_size *
// grad_accum sequences; then
//   zero_stage 0: all-reduce (average) the gradients; every rank takes the same AdamW step;
//   zero_stage 1: reduce-scatter the gradients, each rank updates its shard of the flat parameters
//                 with its shard of the moments, all-gather the parameters.
// The loss is averaged over ranks for logging, the val loss is computed on a slice per rank and
// all-reduced; only rank 0 prints and writes into the run directory (metrics, checkpoints).
// W ranks with grad_accum G see the same tokens, in the same steps, as one process with grad_accum
// W*G, so their losses agree up to float summation order (tests/distributed.cmake).
// The ranks talk over MPI on the CPU and over NCCL on GPUs (--comm, see make_comm).
#include "llm/backend/backend.hpp"
#include "llm/dist/comm.hpp"
#include "llm/train/train_config.hpp"

namespace llm {

struct TrainResult {
  double final_val_loss = 0;  // over the whole val split, after the last step
  double final_train_loss = 0;
  double ms_per_step = 0;  // mean over the steps of this run (after the first)
};

// Trains on this process's GPU or CPU (config.device) and the ranks of
// make_comm(config.comm_timeout, backend, config.comm): one process, or all of a data-parallel job.
TrainResult train(const TrainConfig& config);
// The same on a given backend and communicator (made for that backend: NcclComm queues on its
// stream). With more than one rank, an error on any rank prints "glassbox: error: rank R of W: ..."
// and ends the whole job (Comm::abort) instead of throwing.
TrainResult train(const TrainConfig& config, Comm& comm, Backend& backend);

}  // namespace llm
