// implements: llm::MpiComm (OpenMPI, host buffers), the MpiSession that initialises MPI once, and
// the little MPI an NcclComm needs to start (the ranks, a broadcast of NCCL's id, aborting the
// job). Built only when GLASSBOX_MPI is ON; llm/dist/comm.cpp's make_comm() calls the functions at
// the end.
//
// Failure handling, so that a dead or stuck rank never leaves the others waiting forever:
//   - MPI_ERRORS_RETURN: a collective that fails (e.g. a peer's connection dropped) returns an
//   error
//     code, which becomes an llm::Error naming the call; the trainer then aborts the whole job;
//   - a watchdog thread: when one collective has been running for longer than the timeout
//     (--comm-timeout), it prints which one on which rank and exits the process with status 3.
//     mpirun (or srun --kill-on-bad-exit) then ends every other rank. Plain MPI cannot time out a
//     blocking call any other way; the watchdog makes no MPI calls itself, so MPI_THREAD_FUNNELED
//     (only the main thread calls MPI; OpenMP threads never do) is enough.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "llm/core/clock.hpp"
#include "llm/core/error.hpp"
#include "llm/dist/comm.hpp"

namespace llm {

[[noreturn]] void mpi_abort(int status);  // below: MPI_Abort, which ends every rank

namespace {

constexpr int kCommTimeoutStatus = 3;  // exit status of a rank whose collective timed out

using Clock = std::chrono::steady_clock;

// MPI_Init_thread on construction, MPI_Finalize on destruction. One per process (MPI cannot be
// initialised twice): start_mpi() keeps it in a function-local static, finalised at exit.
class MpiSession {
 public:
  MpiSession() {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    check(rc == MPI_SUCCESS, "MPI_Init_thread failed");
    check(provided >= MPI_THREAD_FUNNELED, "MPI provides no MPI_THREAD_FUNNELED support");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

// MPI, initialised on the first call (by MpiComm, or by an NcclComm that uses MPI only to start).
void start_mpi() { static MpiSession session; }

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, size_t(length)) +
              " (has another rank died?)");
}

MPI_Datatype mpi_type(const Tensor& t, const char* call) {
  check(t.device == Device::cpu, std::string(call) +
                                     ": MpiComm handles host (CPU) buffers; GPU "
                                     "buffers need the NcclComm (--comm nccl or auto)");
  switch (t.dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT;
    default: throw Error(std::string(call) + ": MpiComm has no " + dtype_name(t.dtype) + " type");
  }
}

// buf[begin, end) *= factor (the "average" of a sum over ranks).
void scale_range(Tensor buf, int64_t begin, int64_t end, double factor) {
  if (buf.dtype == DType::f32) {
    float* p = buf.ptr<float>();
    for (int64_t i = begin; i < end; i++) p[i] *= float(factor);
  } else if (buf.dtype == DType::f64) {
    double* p = buf.ptr<double>();
    for (int64_t i = begin; i < end; i++) p[i] *= factor;
  } else {
    throw Error("MpiComm: an average needs a floating-point buffer, not " +
                std::string(dtype_name(buf.dtype)));
  }
}

int int_count(int64_t n, const char* call) {
  check(n <= INT_MAX, std::string(call) + ": " + std::to_string(n) +
                          " elements exceed MPI's int count; split the buffer");
  return int(n);
}

class MpiComm final : public Comm {
 public:
  explicit MpiComm(double timeout_seconds) : timeout_seconds_(timeout_seconds) {
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &world_);
    watchdog_ = std::thread([this] { watch(); });
  }
  ~MpiComm() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    watchdog_.join();
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const char* name() const override { return "mpi"; }
  using Comm::all_reduce;  // the scalar one too

  void all_reduce(Tensor buf, ReduceOp op) override {
    const char* call = "MPI_Allreduce";
    const MPI_Datatype type = mpi_type(buf, call);
    const int n = int_count(buf.numel(), call);
    {
      Watched watched(*this, call);
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, buf.data, n, type, MPI_SUM, comm_), call);
    }
    if (op == ReduceOp::average) scale_range(buf, 0, n, 1.0 / world_);
  }

  void reduce_scatter(Tensor buf, ReduceOp op) override {
    const char* call = "MPI_Reduce_scatter";
    const MPI_Datatype type = mpi_type(buf, call);
    std::vector<int> counts, displs;
    shard_counts(buf.numel(), call, counts, displs);
    {
      Watched watched(*this, call);
      // In place, the result for this rank lands at the START of buf ...
      check_mpi(MPI_Reduce_scatter(MPI_IN_PLACE, buf.data, counts.data(), type, MPI_SUM, comm_),
                call);
    }
    // ... so move it to this rank's own range (overwriting only ranges that are now unspecified).
    const size_t elem = dtype_size(buf.dtype);
    char* base = static_cast<char*>(buf.data);
    std::memmove(base + size_t(displs[rank_]) * elem, base, size_t(counts[rank_]) * elem);
    if (op == ReduceOp::average)
      scale_range(buf, displs[rank_], displs[rank_] + counts[rank_], 1.0 / world_);
  }

  void all_gather(Tensor buf) override {
    const char* call = "MPI_Allgatherv";
    const MPI_Datatype type = mpi_type(buf, call);
    std::vector<int> counts, displs;
    shard_counts(buf.numel(), call, counts, displs);
    Watched watched(*this, call);
    check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf.data, counts.data(),
                             displs.data(), type, comm_),
              call);
  }

  void broadcast(Tensor buf, int root) override {
    const char* call = "MPI_Bcast";
    const MPI_Datatype type = mpi_type(buf, call);
    const int n = int_count(buf.numel(), call);
    Watched watched(*this, call);
    check_mpi(MPI_Bcast(buf.data, n, type, root, comm_), call);
  }

  void gather(Tensor full, Tensor shard, int root) override {
    const char* call = "MPI_Gatherv";
    const MPI_Datatype type = mpi_type(shard, call);
    std::vector<int> counts, displs;
    shard_counts(full.numel(), call, counts, displs);
    check(shard.numel() == counts[size_t(rank_)],
          std::string(call) + ": rank " + std::to_string(rank_) + "'s shard has " +
              std::to_string(shard.numel()) + " elements, shard_range says " +
              std::to_string(counts[size_t(rank_)]));
    if (rank_ == root) mpi_type(full, call);
    Watched watched(*this, call);
    check_mpi(
        MPI_Gatherv(shard.data, counts[size_t(rank_)], type, rank_ == root ? full.data : nullptr,
                    counts.data(), displs.data(), type, root, comm_),
        call);
  }

  void barrier() override {
    Watched watched(*this, "MPI_Barrier");
    check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
  }

  void start_reduce(Tensor buf, const std::vector<ShardRange>& parts, ReduceOp op,
                    bool scatter) override {
    const char* call = scatter ? "MPI_Ireduce_scatter" : "MPI_Iallreduce";
    const MPI_Datatype type = mpi_type(buf, call);
    check(op == ReduceOp::sum || buf.dtype != DType::i32,
          std::string(call) + ": an average needs a floating-point buffer");
    advance();  // MPI has no progress thread here: the reductions queued before move on now
    const int64_t n = buf.numel();
    for (const ShardRange& part : parts) {
      check(part.begin >= 0 && part.begin <= part.end && part.end <= n,
            std::string(call) + ": the part [" + std::to_string(part.begin) + ", " +
                std::to_string(part.end) + ") is not inside the buffer of " + std::to_string(n) +
                " elements");
      if (part.size() == 0) continue;  // the same parts on every rank: every rank skips it
      const int count =
          int_count(part.size(), call);  // the per-rank counts of a scatter are no larger
      char* first = static_cast<char*>(buf.data) + size_t(part.begin) * dtype_size(buf.dtype);
      QueuedReduction queued{buf, op, part, part.begin, {}};
      MPI_Request request = MPI_REQUEST_NULL;
      if (!scatter) {
        check_mpi(MPI_Iallreduce(MPI_IN_PLACE, first, count, type, MPI_SUM, comm_, &request), call);
      } else {
        // Rank r receives the part's overlap with its shard. In place, the result lands at the
        // START of the part; finish_reductions() moves it to where this rank's overlap lies. MPI
        // reads the counts until the reduction finishes, so they live in `queued`.
        for (int r = 0; r < world_; r++)
          queued.counts.push_back(int(intersect(part, shard_range(n, world_, r)).size()));
        queued.result = intersect(part, shard_range(n, world_, rank_));
        check_mpi(MPI_Ireduce_scatter(MPI_IN_PLACE, first, queued.counts.data(), type, MPI_SUM,
                                      comm_, &request),
                  call);
      }
      requests_.push_back(request);
      queued_.push_back(std::move(queued));
    }
  }

  void finish_reductions() override {
    if (requests_.empty()) return;
    const char* call = "MPI_Waitall (the queued reductions)";
    {
      Watched watched(*this, call);
      check_mpi(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), call);
    }
    for (const QueuedReduction& q : queued_) {
      const size_t elem = dtype_size(q.buf.dtype);
      char* base = static_cast<char*>(q.buf.data);
      if (q.result.begin != q.landed_at)
        std::memmove(base + size_t(q.result.begin) * elem, base + size_t(q.landed_at) * elem,
                     size_t(q.result.size()) * elem);
      if (q.op == ReduceOp::average) scale_range(q.buf, q.result.begin, q.result.end, 1.0 / world_);
    }
    requests_.clear();
    queued_.clear();
  }

  [[noreturn]] void abort(int status) override { mpi_abort(status); }

 private:
  // Marks a collective as running for the watchdog while in scope.
  class Watched {
   public:
    Watched(MpiComm& comm, const char* call) : comm_(comm) {
      std::lock_guard<std::mutex> lock(comm_.mutex_);
      comm_.in_flight_ = call;
      comm_.started_ = Clock::now();
    }
    ~Watched() {
      std::lock_guard<std::mutex> lock(comm_.mutex_);
      comm_.in_flight_ = nullptr;
    }

   private:
    MpiComm& comm_;
  };

  void watch() {
    const auto poll = std::chrono::duration<double>(std::clamp(timeout_seconds_ / 4, 0.01, 1.0));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, poll);
      if (stop_ || in_flight_ == nullptr) continue;
      const double waited = seconds_since(started_);
      if (waited < timeout_seconds_) continue;
      std::fprintf(
          stderr,
          "glassbox: error: rank %d of %d: %s has not finished after %.1f s (--comm-timeout "
          "%g): another rank has probably died or hangs; exiting\n",
          rank_, world_, in_flight_, waited, timeout_seconds_);
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(kCommTimeoutStatus);  // the launcher then ends the other ranks
    }
  }

  // MPI_Testall on the queued reductions: each MPI call lets MPI advance them (and completes those
  // that are done, whose requests become MPI_REQUEST_NULL, which MPI_Waitall skips).
  void advance() {
    if (requests_.empty()) return;
    int all_done = 0;
    check_mpi(MPI_Testall(int(requests_.size()), requests_.data(), &all_done, MPI_STATUSES_IGNORE),
              "MPI_Testall");
  }

  // Per-rank element counts and offsets of shard_range, as MPI's int arrays.
  void shard_counts(int64_t n, const char* call, std::vector<int>& counts,
                    std::vector<int>& displs) const {
    int_count(n, call);
    counts.resize(size_t(world_));
    displs.resize(size_t(world_));
    for (int r = 0; r < world_; r++) {
      const ShardRange s = shard_range(n, world_, r);
      counts[size_t(r)] = int(s.size());
      displs[size_t(r)] = int(s.begin);
    }
  }

  // A reduction start_reduce() queued: what finish_reductions() does once it has finished.
  struct QueuedReduction {
    Tensor buf;
    ReduceOp op;
    ShardRange result;  // where this rank's reduced elements belong
    int64_t landed_at;  // where MPI wrote them (the part's start for a scatter)
    std::vector<int>
        counts;  // MPI_Ireduce_scatter's per-rank counts, read by MPI until it finishes
  };

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, world_ = 1;
  std::vector<MPI_Request> requests_;  // of the queued reductions, in the order they were started
  std::vector<QueuedReduction> queued_;
  double timeout_seconds_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  const char* in_flight_ = nullptr;  // the collective running now, or nullptr
  Clock::time_point started_;
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm(double timeout_seconds) {
  start_mpi();  // MPI_Init_thread on the first call, MPI_Finalize at exit
  return std::make_unique<MpiComm>(timeout_seconds);
}

void mpi_rank_and_world(int& rank, int& world) {
  start_mpi();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
}

// A broadcast from rank 0 that gives up after the timeout, as MpiComm's watchdog would: the
// non-blocking MPI_Ibcast is polled with MPI_Test (which also drives its progress).
void mpi_broadcast_bytes(void* data, size_t bytes, double timeout_seconds, const char* what) {
  start_mpi();
  const char* call = "MPI_Ibcast";
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(
      MPI_Ibcast(data, int_count(int64_t(bytes), call), MPI_BYTE, 0, MPI_COMM_WORLD, &request),
      call);
  const Clock::time_point start = Clock::now();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    const double waited = seconds_since(start);
    if (waited >= timeout_seconds) {
      int rank = 0, world = 1;
      mpi_rank_and_world(rank, world);
      std::fprintf(stderr,
                   "glassbox: error: rank %d of %d: %s of %s has not finished after %.1f s "
                   "(--comm-timeout %g): "
                   "another rank has probably died or hangs; exiting\n",
                   rank, world, call, what, waited, timeout_seconds);
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(kCommTimeoutStatus);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void mpi_abort(int status) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);  // MPI_Abort does not return; this is for the compiler
}

}  // namespace llm
