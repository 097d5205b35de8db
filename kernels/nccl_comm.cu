// implements: llm::NcclComm, the collectives of llm/dist/comm.hpp over NCCL on GPU buffers (one GPU
// per rank), and the CUDA side of starting one: NCCL's unique id and each rank's choice of GPU.
// llm/dist/comm.cpp's make_comm() decides who the ranks are and carries the id between them.
//
// Ordering. Every collective is queued on the CUDA backend's stream (CudaBackend::stream()), so it
// runs after the backward that wrote the gradients and before the optimizer step that reads them,
// with no extra synchronisation. Each call then waits until the GPU has finished it, as MpiComm's
// blocking calls do: the trainer reads the results right away (the gradient norm, the loss), and a
// collective that never finishes is noticed here rather than in some later, unrelated CUDA call.
//
// Overlap. start_reduce (the gradients of one layer, while the backward goes on with the layer
// below) queues on a second stream, comm_stream_: an event recorded on the compute stream at the
// call makes comm_stream_ wait for the backward up to that point only, so the reduction runs beside
// the compute queued after it. finish_reductions() waits (polled, as below) until comm_stream_ has
// finished; the next collective, on the compute stream, comes after that. Only one stream uses the
// communicator at any time: NCCL runs a communicator's operations in the order they were issued,
// and two streams taking turns on one communicator could otherwise deadlock across ranks.
//
// Failure. The communicator is made in NCCL's non-blocking mode (ncclConfig_t::blocking = 0): no
// NCCL call ever blocks the host, not even while a peer is missing. Every wait polls
// ncclCommGetAsyncError (NCCL's own progress and errors, e.g. ncclRemoteError when a peer's
// connection drops) and a CUDA event recorded after the collective (the GPU's progress). If the
// communicator reports an error, or the collective has not finished within --comm-timeout, this
// rank prints one line naming the collective, aborts the communicator (ncclCommAbort frees the GPU
// from kernels that wait for the dead peer) and exits with status 3, as MpiComm's watchdog does;
// the launcher then ends the other ranks, or they time out in turn.
//
// Shards. reduce_scatter and all_gather use shard_range's shards: contiguous, in rank order, as
// equal as integer division allows. ncclReduceScatter / ncclAllGather need equal chunks, so:
//   n a multiple of W  NCCL's own ReduceScatter / AllGather, in place: chunk r of NCCL's layout is
//                      exactly shard r. The usual training case: GPT-2 124M's flat parameter arena
//                      of 124,475,904 = 2^9 x 3^2 x 7 x 17 x 227 elements divides by 1, 2, 3, 4, 6,
//                      7, 8, 12, 16, 24, 32, 64, ... ranks.
//   any other n        one ncclReduce (reduce-scatter) or ncclBroadcast (all-gather) per rank,
//                      rooted at the rank that owns the shard, all in one ncclGroupStart/End so
//                      NCCL runs them together: about the bytes of NCCL's own ring, in W smaller
//                      operations (correct for any n; somewhat slower).
// We chose this over padding the arenas to a multiple of W: padding would change the flat layout
// that the optimizer shards, the checkpoints and MpiComm all share, for the rarer world sizes.
//
// Precision: bf16 buffers are reduced by NCCL in bf16 (each ring hop rounds its partial sum), as
// llm.c's bf16 gradients are; ncclAvg divides by W inside the same pass. The host scalars the
// trainer reduces (the loss, sums of squares) are f64.
#include <nccl.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "llm/dist/comm.hpp"

namespace llm {

using NcclId = std::array<char, 128>;  // as declared in llm/dist/comm.cpp
static_assert(sizeof(ncclUniqueId) == sizeof(NcclId), "NCCL_UNIQUE_ID_BYTES is no longer 128");

using cuda::cuda_check;

namespace {

constexpr int kCommFailureStatus =
    3;  // exit status after a failed or timed-out collective (MpiComm's)
constexpr auto kPollInterval = std::chrono::microseconds(20);

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// nccl_check(call): every NCCL call checked, failing with an llm::Error that names the file and
// line of the call, as cuda_check does for CUDA, e.g.
//   "kernels/nccl_comm.cu:212: NCCL error: invalid argument (NCCL's own last message)".
// A non-blocking communicator may also answer ncclInProgress (the call is still being processed);
// that is not an error: NcclComm::wait polls for the outcome.
// "invalid usage (Duplicate GPU detected : rank 1 and rank 0 both on CUDA device 0)": NCCL's name
// for the status, and its own last message, which says what went wrong, when it has one.
std::string nccl_error_text(ncclResult_t status, ncclComm_t comm) {
  std::string text = ncclGetErrorString(status);
  const char* detail = ncclGetLastError(comm);
  if (detail != nullptr && *detail != '\0') text += std::string(" (") + detail + ")";
  return text;
}

void nccl_check(ncclResult_t status, std::source_location loc = std::source_location::current()) {
  if (status == ncclSuccess || status == ncclInProgress) return;
  throw Error(cuda::where(loc) + ": NCCL error: " + nccl_error_text(status, nullptr));
}

ncclDataType_t nccl_type(DType dtype, const char* call) {
  switch (dtype) {
    case DType::bf16: return ncclBfloat16;
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i32: return ncclInt32;
  }
  throw Error(std::string(call) + ": NcclComm has no " + dtype_name(dtype) + " type");
}

// ncclAvg sums and divides by the world size in one pass; only for floating-point data, as in
// MpiComm.
ncclRedOp_t nccl_op(ReduceOp op, DType dtype, const char* call) {
  if (op == ReduceOp::sum) return ncclSum;
  check(dtype != DType::i32,
        std::string(call) + ": an average needs a floating-point buffer, not i32");
  return ncclAvg;
}

class NcclComm final : public Comm {
 public:
  // Joins the communicator of `world` ranks that `id` names, on the current GPU (use_local_gpu()
  // chose it before the backend was made), queueing on `stream`. `end_job` ends every rank of the
  // job (MPI_Abort when MPI started it); empty, abort() ends this process only.
  NcclComm(const NcclId& id, int rank, int world, cudaStream_t stream, double timeout_seconds,
           std::function<void(int)> end_job)
      : stream_(stream),
        rank_(rank),
        world_(world),
        timeout_seconds_(timeout_seconds),
        end_job_(std::move(end_job)) {
    ncclUniqueId unique_id;
    std::memcpy(unique_id.internal, id.data(), sizeof unique_id.internal);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // every call returns at once; wait() polls, so nothing can hang
    nccl_check(ncclCommInitRankConfig(&comm_, world_, unique_id, rank_, &config));
    wait_for("ncclCommInitRank", std::nullopt);  // every rank joins, or this one times out
    cuda_check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    cuda_check(cudaEventCreateWithFlags(&grads_written_, cudaEventDisableTiming));
    cuda_check(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
  }

  ~NcclComm() override {
    // No checks: destructors must not throw. Finalize flushes NCCL's work and waits until the
    // communicator is quiescent on every rank (non-blocking: polled, within the timeout); a
    // communicator that does not get there is aborted instead.
    ncclResult_t state = ncclCommFinalize(comm_);
    const Clock::time_point start = Clock::now();
    while (state == ncclInProgress && seconds_since(start) < timeout_seconds_) {
      std::this_thread::sleep_for(kPollInterval);
      ncclCommGetAsyncError(comm_, &state);
    }
    if (state == ncclSuccess)
      ncclCommDestroy(comm_);
    else
      ncclCommAbort(comm_);
    cudaEventDestroy(done_);
    cudaEventDestroy(grads_written_);
    cudaStreamDestroy(comm_stream_);
  }

  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const char* name() const override { return "nccl"; }
  using Comm::all_reduce;  // the scalar one too

  void all_reduce(Tensor buf, ReduceOp op) override { all_reduce_as("ncclAllReduce", buf, op); }

  void reduce_scatter(Tensor buf, ReduceOp op) override {
    const int64_t n = buf.numel();
    const bool equal = n % world_ == 0;
    const char* call =
        equal ? "ncclReduceScatter" : "ncclReduce (reduce-scatter of unequal shards)";
    const ncclDataType_t type = nccl_type(buf.dtype, call);
    const ncclRedOp_t reduce = nccl_op(op, buf.dtype, call);
    const size_t elem = dtype_size(buf.dtype);
    on_device(buf, [&](char* data) {
      if (equal) {
        // In place: NCCL leaves rank r's sum at data + r * chunk, shard_range's shard r.
        const size_t chunk = size_t(n / world_);
        nccl_check(ncclReduceScatter(data, data + size_t(rank_) * chunk * elem, chunk, type, reduce,
                                     comm_, stream_));
      } else {
        // Shard r summed onto rank r, in place there; every rank runs the same list of reduces.
        nccl_check(ncclGroupStart());
        for (int r = 0; r < world_; r++) {
          const ShardRange s = shard_range(n, world_, r);
          if (s.size() == 0) continue;  // n < W: some ranks own nothing
          char* shard = data + size_t(s.begin) * elem;
          nccl_check(ncclReduce(shard, shard, size_t(s.size()), type, reduce, r, comm_, stream_));
        }
        nccl_check(ncclGroupEnd());
      }
      wait(call);
    });
  }

  void all_gather(Tensor buf) override {
    const int64_t n = buf.numel();
    const bool equal = n % world_ == 0;
    const char* call = equal ? "ncclAllGather" : "ncclBroadcast (all-gather of unequal shards)";
    const ncclDataType_t type = nccl_type(buf.dtype, call);
    const size_t elem = dtype_size(buf.dtype);
    on_device(buf, [&](char* data) {
      if (equal) {
        // In place: this rank's input is its own chunk of the output, data + rank * chunk.
        const size_t chunk = size_t(n / world_);
        nccl_check(
            ncclAllGather(data + size_t(rank_) * chunk * elem, data, chunk, type, comm_, stream_));
      } else {
        // Shard r from rank r to every rank, in place.
        nccl_check(ncclGroupStart());
        for (int r = 0; r < world_; r++) {
          const ShardRange s = shard_range(n, world_, r);
          if (s.size() == 0) continue;
          char* shard = data + size_t(s.begin) * elem;
          nccl_check(ncclBroadcast(shard, shard, size_t(s.size()), type, r, comm_, stream_));
        }
        nccl_check(ncclGroupEnd());
      }
      wait(call);
    });
  }

  void broadcast(Tensor buf, int root) override {
    const char* call = "ncclBroadcast";
    check_root(root, call);
    const ncclDataType_t type = nccl_type(buf.dtype, call);
    on_device(buf, [&](char* data) {
      nccl_check(ncclBroadcast(data, data, size_t(buf.numel()), type, root, comm_, stream_));
      wait(call);
    });
  }

  // Point to point: the root receives every other rank's shard straight into its place in `full`
  // (ncclRecv per rank), all in one group so the transfers run together.
  void gather(Tensor full, Tensor shard, int root) override {
    const char* call = "ncclSend/ncclRecv (gather)";
    check_root(root, call);
    const ncclDataType_t type = nccl_type(shard.dtype, call);
    const int64_t n = full.numel();
    const ShardRange mine = shard_range(n, world_, rank_);
    check(shard.numel() == mine.size(), std::string(call) + ": rank " + std::to_string(rank_) +
                                            "'s shard has " + std::to_string(shard.numel()) +
                                            " elements, shard_range says " +
                                            std::to_string(mine.size()));
    check(shard.device == Device::cuda,
          std::string(call) + ": NcclComm gathers GPU buffers; the shard is on the cpu");
    const size_t elem = dtype_size(shard.dtype);
    char* out = static_cast<char*>(full.data);
    if (rank_ == root) {
      check(full.device == Device::cuda && full.dtype == shard.dtype && out != nullptr,
            std::string(call) + ": the root needs a " + dtype_name(shard.dtype) +
                " GPU buffer of " + std::to_string(n) + " elements");
      // The root's own shard: a copy on the same stream, queued before NCCL's transfers (which
      // write other ranges of `full`). None when the shard is already a view of `full`.
      char* own = out + size_t(mine.begin) * elem;
      if (mine.size() > 0 && own != shard.data)
        cuda_check(
            cudaMemcpyAsync(own, shard.data, shard.nbytes(), cudaMemcpyDeviceToDevice, stream_));
    }
    nccl_check(ncclGroupStart());
    if (rank_ == root) {
      for (int r = 0; r < world_; r++) {
        const ShardRange s = shard_range(n, world_, r);
        if (r == root || s.size() == 0) continue;
        nccl_check(
            ncclRecv(out + size_t(s.begin) * elem, size_t(s.size()), type, r, comm_, stream_));
      }
    } else if (mine.size() > 0) {
      nccl_check(ncclSend(shard.data, size_t(mine.size()), type, root, comm_, stream_));
    }
    nccl_check(ncclGroupEnd());
    wait(call);
  }

  // NCCL has no barrier: an all-reduce of one number that every rank must join does the same.
  void barrier() override {
    int32_t token = 0;
    all_reduce_as("barrier (ncclAllReduce)", Tensor{&token, DType::i32, Device::cpu, Shape{1}},
                  ReduceOp::sum);
  }

  void start_reduce(Tensor buf, const std::vector<ShardRange>& parts, ReduceOp op,
                    bool scatter) override {
    const char* call =
        scatter ? "ncclReduce (overlapped reduce-scatter)" : "ncclAllReduce (overlapped)";
    check(buf.device == Device::cuda,
          std::string(call) + ": NcclComm's overlapped reductions need a GPU buffer");
    const ncclDataType_t type = nccl_type(buf.dtype, call);
    const ncclRedOp_t reduce = nccl_op(op, buf.dtype, call);
    const int64_t n = buf.numel();
    const size_t elem = dtype_size(buf.dtype);
    char* data = static_cast<char*>(buf.data);
    for (const ShardRange& part : parts) {  // all checked before the group opens
      check(part.begin >= 0 && part.begin <= part.end && part.end <= n,
            std::string(call) + ": the part [" + std::to_string(part.begin) + ", " +
                std::to_string(part.end) + ") is not inside the buffer of " + std::to_string(n) +
                " elements");
    }
    // comm_stream_ starts once the compute stream has written these gradients (everything queued
    // on it so far), and not later.
    cuda_check(cudaEventRecord(grads_written_, stream_));
    cuda_check(cudaStreamWaitEvent(comm_stream_, grads_written_, 0));
    // The parts of one call as one NCCL group: one launch, run together.
    nccl_check(ncclGroupStart());
    for (const ShardRange& part : parts) {
      if (!scatter) {
        char* first = data + size_t(part.begin) * elem;
        if (part.size() > 0)
          nccl_check(
              ncclAllReduce(first, first, size_t(part.size()), type, reduce, comm_, comm_stream_));
        continue;
      }
      // The part's overlap with shard r, summed onto rank r in place (as reduce_scatter's unequal
      // case).
      for (int r = 0; r < world_; r++) {
        const ShardRange piece = intersect(part, shard_range(n, world_, r));
        if (piece.size() == 0) continue;
        char* first = data + size_t(piece.begin) * elem;
        nccl_check(
            ncclReduce(first, first, size_t(piece.size()), type, reduce, r, comm_, comm_stream_));
      }
    }
    nccl_check(ncclGroupEnd());
    // In non-blocking mode NCCL may still be queueing the group (ncclInProgress); no other NCCL
    // call may come before it has. This waits for NCCL's side only, not for the GPU to run it.
    wait_for(call, std::nullopt);
    reductions_queued_ = true;
  }

  void finish_reductions() override {
    if (!reductions_queued_) return;
    wait_for("the overlapped gradient reductions", comm_stream_);
    reductions_queued_ = false;
  }

  [[noreturn]] void abort(int status) override {
    std::fflush(stdout);
    std::fflush(stderr);
    ncclCommAbort(comm_);            // no check: we are leaving either way
    if (end_job_) end_job_(status);  // MPI_Abort: every rank ends now
    std::_Exit(status);  // otherwise the launcher (srun --kill-on-bad-exit) ends the rest
  }

 private:
  void all_reduce_as(const char* call, Tensor buf, ReduceOp op) {
    const ncclDataType_t type = nccl_type(buf.dtype, call);
    const ncclRedOp_t reduce = nccl_op(op, buf.dtype, call);
    on_device(buf, [&](char* data) {
      nccl_check(ncclAllReduce(data, data, size_t(buf.numel()), type, reduce, comm_, stream_));
      wait(call);
    });
  }

  void check_root(int root, const char* call) const {
    check(root >= 0 && root < world_, std::string(call) + ": root " + std::to_string(root) +
                                          " is not a rank of " + std::to_string(world_));
  }

  // Runs `collective(data)` on the GPU memory of `buf`: its own for a device tensor; for a host
  // tensor (the loss, a sum of squares: Comm::all_reduce(double)) a copy in staging_, queued on the
  // stream before the collective and copied back after it. The collective waits for itself, so the
  // copy back never waits on a peer.
  template <typename Collective> void on_device(Tensor buf, Collective&& collective) {
    if (buf.numel() == 0) return;  // every rank holds the same n, so every rank skips
    if (buf.device == Device::cuda) {
      collective(static_cast<char*>(buf.data));
      return;
    }
    char* staged = static_cast<char*>(staging_.get(buf.nbytes()));
    cuda_check(cudaMemcpyAsync(staged, buf.data, buf.nbytes(), cudaMemcpyHostToDevice, stream_));
    collective(staged);
    cuda_check(cudaMemcpyAsync(buf.data, staged, buf.nbytes(), cudaMemcpyDeviceToHost, stream_));
    cuda_check(cudaStreamSynchronize(stream_));
  }

  // A collective on the compute stream: returns once it has finished (see wait_for).
  void wait(const char* call) { wait_for(call, stream_); }

  // Returns once everything issued on the communicator so far has finished: first NCCL's side (in
  // non-blocking mode a call may return before its kernels are on the stream: the state is
  // ncclInProgress until they are), then, when a stream is given, the GPU's side, up to an event
  // recorded on that stream. An error or the timeout ends the process (fail).
  void wait_for(const char* call, std::optional<cudaStream_t> stream) {
    const Clock::time_point start = Clock::now();
    bool recorded = false;
    for (;;) {
      ncclResult_t state = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(comm_, &state));
      if (state != ncclSuccess && state != ncclInProgress) {
        fail(call, "failed: " + nccl_error_text(state, comm_) + ": another rank has probably died");
      }
      if (state == ncclSuccess) {
        if (!stream) return;
        if (!recorded) {
          cuda_check(cudaEventRecord(done_, *stream));
          recorded = true;
        }
        const cudaError_t query = cudaEventQuery(done_);
        if (query == cudaSuccess) return;
        if (query != cudaErrorNotReady) cuda_check(query);  // a fault in an earlier kernel, say
        cudaGetLastError();  // "not ready" is no error: clear it, or the next check_launch() would
                             // report it
      }
      const double waited = seconds_since(start);
      if (waited >= timeout_seconds_) {
        char what[160];
        std::snprintf(what, sizeof what,
                      "has not finished after %.1f s (--comm-timeout %g): another rank has "
                      "probably died or hangs",
                      waited, timeout_seconds_);
        fail(call, what);
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }

  // One line naming the collective, then out: the communicator is unusable, and the other ranks
  // must not wait for this one either.
  [[noreturn]] void fail(const char* call, const std::string& what) {
    std::fprintf(stderr, "glassbox: error: rank %d of %d: %s %s; exiting\n", rank_, world_, call,
                 what.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    ncclCommAbort(
        comm_);  // stops this GPU's kernels that wait for the peer; no check: we are leaving
    std::_Exit(kCommFailureStatus);
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_;                 // the CUDA backend's: collectives in order with the compute
  cudaStream_t comm_stream_ = nullptr;  // start_reduce's, beside the compute
  cudaEvent_t done_ = nullptr;          // recorded behind each collective, polled by wait_for()
  cudaEvent_t grads_written_ = nullptr;  // on stream_ at start_reduce: where comm_stream_ may start
  bool reductions_queued_ = false;       // start_reduce since the last finish_reductions
  int rank_, world_;
  double timeout_seconds_;
  std::function<void(int)> end_job_;
  DeviceBuffer staging_;  // host tensors on their way through NCCL (a few bytes: scalars)
};

}  // namespace

// ---- factories (declared in llm/dist/comm.cpp and llm/dist/comm.hpp) ----

NcclId make_nccl_id() {
  ncclUniqueId unique_id;
  nccl_check(ncclGetUniqueId(&unique_id));
  NcclId id;
  std::memcpy(id.data(), unique_id.internal, id.size());
  return id;
}

std::unique_ptr<Comm> make_nccl_comm(const NcclId& id, int rank, int world, Backend& backend,
                                     double timeout_seconds, std::function<void(int)> end_job) {
  auto* cuda_backend = dynamic_cast<CudaBackend*>(&backend);
  check(cuda_backend != nullptr,
        std::string("NcclComm needs the CUDA backend, not ") + backend.name());
  return std::make_unique<NcclComm>(id, rank, world, cuda_backend->stream(), timeout_seconds,
                                    std::move(end_job));
}

int use_local_gpu() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no GPU: make_backend("cuda") will say so
    return 0;
  }
  const int local_rank = launch_env().local_rank;
  if (count > 0 && local_rank >= 0) cuda_check(cudaSetDevice(local_rank % count));
  return count;
}

}  // namespace llm
