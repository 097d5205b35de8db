#pragma once
// defines: llm::Comm (the collectives data-parallel training needs), llm::SingleComm,
// llm::make_comm,
//          llm::ShardRange / shard_range (which part of a flat buffer each rank owns),
//          llm::launch_env / use_local_gpu (where the launcher put this process; its GPU)
//
// Data parallel with W ranks: every rank holds the whole model, reads its own slice of each global
// batch, and the gradients are averaged across ranks before the (identical) optimizer step.
// ZeRO-1 (Rajbhandari et al. 2020) also splits the AdamW moments: rank r owns the flat index range
// shard_range(N, W, r) of the parameters; a step reduce-scatters the gradients (each rank gets the
// average of its range only), updates its range, and all-gathers the parameters.
//
//   all_reduce      buf (n) on every rank  ->  buf = sum (or mean) over ranks, on every rank
//   reduce_scatter  buf (n) on every rank  ->  buf[shard r] = sum (or mean) over ranks of buf[shard
//   r]
//                                              on rank r; the rest of buf is left unspecified
//   all_gather      buf[shard r] on rank r ->  buf (n), the same on every rank
//   broadcast       buf on root            ->  buf on every rank
//   gather          shard (its size) on rank r ->  full[shard r] on root (e.g. ZeRO moments for a
//                                              checkpoint; the other ranks need no full-size
//                                              buffer)
//
// Those calls are blocking: each returns with its result in place. For overlapping the gradient
// communication with the backward there are also asynchronous reductions of PARTS of one flat
// buffer:
//   start_reduce(buf, parts, op, scatter)  queues the reduction of buf[part] for each of the
//   (disjoint)
//                                           parts, and returns at once
//       scatter false: every rank gets buf[part] reduced (an all-reduce of the part)
//       scatter true:  rank r gets only buf[part ∩ shard r] reduced, where shard r is
//                      shard_range(buf's n, W, r) (that part of a reduce-scatter of the whole buf)
//   finish_reductions()                    returns when every queued reduction has finished
// Reducing every part of buf this way gives what one all_reduce / reduce_scatter of buf gives (in
// exact arithmetic; with 2 ranks bit for bit, a + b being b + a). Until finish_reductions()
// returns, the queued parts must be neither read nor written, and no other collective may be
// called.
//
// The shards of reduce_scatter / all_gather are those of shard_range: contiguous, in rank order, as
// equal as integer division allows (sizes differ by at most one element).
//
// Implementations:
//   SingleComm  world 1: every collective is the identity (in this file).
//   MpiComm     OpenMPI on host (CPU) buffers, f32 / f64 / i32, up to 2^31-1 elements per call
//               (MPI's int counts) (llm/dist/mpi_comm.cpp, GLASSBOX_MPI). start_reduce uses MPI's
//               non-blocking collectives, which MPI advances whenever the next call enters it.
//   NcclComm    NCCL on GPU (Device::cuda) buffers, bf16 / f32 / f64 / i32, one GPU per rank
//               (kernels/nccl_comm.cu, CUDA builds). Its collectives are queued on the CUDA
//               backend's stream, in order with the compute, and each waits until the GPU has
//               finished it (so a dead peer times out as with MpiComm). Host tensors (the loss, a
//               sum of squares) go through a small device buffer. start_reduce queues on a
//               second stream, which waits for the compute stream only up to that call, so the
//               reduction runs beside the compute queued after it. The ncclUniqueId that joins the
//               ranks is made on rank 0 and broadcast over MPI (mpirun, srun --mpi=pmix), or passed
//               through a file (GLASSBOX_NCCL_ID_FILE) when the ranks were started without MPI.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/core/tensor.hpp"

namespace llm {

class Backend;

enum class ReduceOp { sum, average };

// A flat index range [begin, end): the shard of a buffer that a rank owns, or a part of a buffer.
struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const ShardRange&) const = default;
};
// The range of a buffer of n elements that rank `rank` of `world` owns.
inline ShardRange shard_range(int64_t n, int world, int rank) {
  return {n * rank / world, n * (rank + 1) / world};
}
// The elements two ranges share (empty, size 0, when none).
inline ShardRange intersect(ShardRange a, ShardRange b) {
  const int64_t begin = a.begin > b.begin ? a.begin : b.begin;
  const int64_t end = a.end < b.end ? a.end : b.end;
  return end > begin ? ShardRange{begin, end} : ShardRange{begin, begin};
}

class Comm {
 public:
  virtual ~Comm() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual const char* name() const = 0;  // "single", "mpi", "nccl"
  bool is_root() const { return rank() == 0; }

  // In place on a contiguous tensor view (any shape; treated as flat); see the table above.
  virtual void all_reduce(Tensor buf, ReduceOp op) = 0;
  virtual void reduce_scatter(Tensor buf, ReduceOp op) = 0;
  virtual void all_gather(Tensor buf) = 0;
  virtual void broadcast(Tensor buf, int root) = 0;
  // full (n) on root receives every rank's `shard`, whose size is that of shard_range(n, world, r).
  // On the other ranks only full's shape is used: its data may be null (no full-size buffer there).
  virtual void gather(Tensor full, Tensor shard, int root) = 0;
  virtual void barrier() = 0;

  // Asynchronous reductions of parts of one flat buffer (see the table above).
  virtual void start_reduce(Tensor buf, const std::vector<ShardRange>& parts, ReduceOp op,
                            bool scatter) = 0;
  virtual void finish_reductions() = 0;

  // Ends every rank of the job now, with this exit status (after an error on this rank that the
  // others cannot know about: they would otherwise wait in their next collective forever).
  [[noreturn]] virtual void abort(int status) = 0;

  // A host scalar reduced over ranks (the loss for logging, a sum of squares for the grad norm).
  double all_reduce(double value, ReduceOp op);
};

// World 1: every collective leaves its buffer as it is (a sum or mean over one rank).
class SingleComm final : public Comm {
 public:
  using Comm::all_reduce;  // the scalar one too
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  const char* name() const override { return "single"; }
  void all_reduce(Tensor, ReduceOp) override {}
  void reduce_scatter(Tensor, ReduceOp) override {}
  void all_gather(Tensor) override {}
  void broadcast(Tensor, int) override {}
  void gather(Tensor full, Tensor shard, int root) override;  // a copy when they differ
  void barrier() override {}
  void start_reduce(Tensor, const std::vector<ShardRange>&, ReduceOp, bool) override {}
  void finish_reductions() override {}
  [[noreturn]] void abort(int status) override;
};

// True when this process was started by an MPI launcher (mpirun / mpiexec / srun with PMI or PMIx):
// OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK is set.
bool launched_by_mpi();

// MpiComm when launched by an MPI launcher, SingleComm otherwise. `timeout_seconds` bounds every
// collective: if one has not finished by then (another rank died or hangs), this rank prints an
// error naming the collective and exits, which brings the whole job down. Throws llm::Error when
// launched by mpirun but this build has no MPI (GLASSBOX_MPI=OFF).
std::unique_ptr<Comm> make_comm(double timeout_seconds = 300);

// The communicator for tensors on `backend` (which must outlive it: NcclComm queues its collectives
// on the CUDA backend's stream). `kind` is TrainConfig::comm (--comm):
//   "auto"  several ranks: NcclComm when the backend is on the GPU, MpiComm when on the CPU;
//           one rank: SingleComm
//   "nccl"  NcclComm, even with one rank (the GPU path end to end on one GPU); --device cuda only
//   "mpi"   MpiComm, even with one rank; --device cpu only (MPI moves host buffers)
// The ranks of NcclComm: with an MPI launcher, MPI's (which also broadcasts NCCL's id from rank 0);
// without one, launch_env()'s, and when there are several the id goes through the file
// GLASSBOX_NCCL_ID_FILE: rank 0 writes it (atomically), the others wait for it for up to
// `timeout_seconds`, and rank 0 deletes it once every rank has joined. The path must be one every
// rank sees (a shared file system across nodes) and new to this job (e.g. with $SLURM_JOB_ID in
// it).
std::unique_ptr<Comm> make_comm(double timeout_seconds, Backend& backend, const std::string& kind);

// Where the launcher put this process, from its environment; -1 where it says nothing. Each value
// is the first of these variables that is set:
//   rank        GLASSBOX_RANK, RANK (torchrun), SLURM_PROCID (srun), PMI_RANK (MPICH's mpiexec)
//   world       GLASSBOX_WORLD_SIZE, WORLD_SIZE (torchrun), SLURM_NTASKS (srun), PMI_SIZE (MPICH)
//   local_rank  GLASSBOX_LOCAL_RANK, LOCAL_RANK (torchrun), OMPI_COMM_WORLD_LOCAL_RANK (Open MPI's
//               mpirun), MPI_LOCALRANKID (MPICH), SLURM_LOCALID (srun)
// The GLASSBOX_ variables come first, so a script can always override what the launcher says;
// torchrun's come before Slurm's because torchrun runs inside a Slurm task and numbers its own
// processes, while SLURM_PROCID then counts the torchrun launchers, one per node.
inline constexpr std::array<const char*, 4> launch_env_rank_names = {"GLASSBOX_RANK", "RANK",
                                                                     "SLURM_PROCID", "PMI_RANK"};
inline constexpr std::array<const char*, 4> launch_env_world_names = {
    "GLASSBOX_WORLD_SIZE", "WORLD_SIZE", "SLURM_NTASKS", "PMI_SIZE"};
inline constexpr std::array<const char*, 5> launch_env_local_rank_names = {
    "GLASSBOX_LOCAL_RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
    "SLURM_LOCALID"};
struct LaunchEnv {
  int rank = -1;
  int world = -1;
  int local_rank = -1;
};
LaunchEnv launch_env();

// For --device cuda with several GPUs per node: makes GPU (local rank mod visible GPUs) the current
// device, so each rank of a node takes its own; call it before the CUDA backend is made. Does
// nothing when no local rank is set. Returns the number of visible GPUs (0 without a GPU or a CUDA
// build).
int use_local_gpu();

}  // namespace llm
