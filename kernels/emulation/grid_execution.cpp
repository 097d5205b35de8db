// The CUDA emulation's execution of a kernel launch: every thread of a block is a host thread, and
// the blocks of the grid run one after another, in a shuffled order.
//
// A block. Its threads are the first blockDim.x * blockDim.y * blockDim.z workers of a pool that
// lives as long as the process (threads are started once, not per block). Each worker sets its
// threadIdx, blockIdx, blockDim, gridDim and calls the kernel. The block is done when every worker
// has returned; then the next block starts. Only one block runs at a time, so the kernels'
// __shared__ arrays (static variables here, see include/cuda_runtime.h) belong to that block.
// Before each block they are refilled with the byte 0xCD, so a thread that reads shared memory no
// thread of its block wrote reads garbage (as on a GPU), not the previous block's values.
//
// Rendezvous. __syncthreads is a barrier of the block's threads, and a warp shuffle a barrier of
// the warp's 32 lanes (threads 32w .. 32w + 31, as on the GPU) that also swaps one value per lane.
// A barrier is a fault, reported rather than tolerated, when:
//   - threads of one group wait at different call sites (a barrier inside divergent code),
//   - a thread of the group has returned from the kernel while others wait (they would hang), or
//   - every thread of the block waits and none can go on (threads at different rendezvous).
// A fault ends the block at once: every waiting thread is released by an exception, and the launch
// throws llm::Error with the message, naming the call site (file:line) and the block.
//
// Races. The host threads really run at the same time, so two threads that touch the same shared
// (or global) location with no barrier between them race; the ThreadSanitizer build of the
// emulation (kernels/emulation/CMakeLists.txt) reports that.
//
// Hangs. The launching thread waits for each block at most GLASSBOX_EMULATION_TIMEOUT seconds
// (default 300); past that it prints which block hangs and aborts the process, instead of hanging.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "llm/core/error.hpp"

constinit thread_local uint3 threadIdx{};
constinit thread_local uint3 blockIdx{};
constinit thread_local dim3 blockDim;
constinit thread_local dim3 gridDim;

// The bounds of the section the __shared__ variables are placed in (the linker defines them, when
// the section exists; weak, so a program with no __shared__ variable links too).
extern "C" char __start_cuda_emulation_shared[] __attribute__((weak));
extern "C" char __stop_cuda_emulation_shared[] __attribute__((weak));

namespace llm::emulation {

void set_last_error(cudaError_t error);  // device_runtime.cpp

namespace {

constexpr int kWarpSize = 32;
constexpr int kMaxThreadsPerBlock = 1024;  // the GPU's limits on a launch configuration
constexpr unsigned kMaxGridY = 65535, kMaxGridZ = 65535;
constexpr unsigned kMaxBlockZ = 64;

// Thrown into the threads of a block that has faulted, to unwind them out of the kernel.
struct BlockAborted {};

std::string site(const std::source_location& where) {
  std::string file = where.file_name();
  const size_t k = file.rfind("kernels/");
  if (k != std::string::npos) file = file.substr(k);
  return file + ":" + std::to_string(where.line());
}

bool same_site(const std::source_location& a, const std::source_location& b) {
  return a.line() == b.line() && a.column() == b.column() &&
         std::string(a.file_name()) == b.file_name();
}

// One barrier: the threads of a group (the block, or one warp) wait until all have arrived.
struct Rendezvous {
  std::condition_variable all_arrived;
  int participants = 0;
  int waiting = 0;
  int exited = 0;                     // threads of the group that have returned from the kernel
  uint64_t generation = 0;            // rounds completed
  std::source_location where;         // the call site of the round in progress
  uint64_t slots[2][kWarpSize] = {};  // warp shuffles: one value per lane, double-buffered by round
};

// The state of the block that is running.
struct BlockState {
  std::mutex mutex;
  uint3 index{};
  int threads = 0;
  int returned = 0;
  int blocked = 0;  // threads waiting in a rendezvous that has not completed
  std::condition_variable all_returned;
  std::string fault;  // the first fault; empty while none
  Rendezvous block;
  std::vector<Rendezvous> warps;

  std::string name() const {
    return "block (" + std::to_string(index.x) + ", " + std::to_string(index.y) + ", " +
           std::to_string(index.z) + ")";
  }

  // Records the first fault and releases every waiting thread. The caller holds the mutex.
  void record_fault(const std::string& what) {
    if (fault.empty()) fault = what + ", in " + name();
    block.all_arrived.notify_all();
    for (Rendezvous& warp : warps) warp.all_arrived.notify_all();
    all_returned.notify_all();
  }

  // The calling thread arrives at `r` from `where` and waits for the rest of its group.
  void arrive(Rendezvous& r, const char* what, const std::source_location& where,
              std::unique_lock<std::mutex>& lock) {
    if (!fault.empty()) throw BlockAborted{};
    if (r.exited > 0) {
      record_fault(
          std::string(what) + " at " + site(where) + " waits for " + std::to_string(r.exited) +
          " thread(s) that already returned from the kernel (a barrier in divergent code)");
      throw BlockAborted{};
    }
    if (r.waiting == 0) {
      r.where = where;
    } else if (!same_site(r.where, where)) {
      record_fault(std::string(what) + ": threads wait at two different call sites, " +
                   site(r.where) + " and " + site(where) + " (a barrier in divergent code)");
      throw BlockAborted{};
    }
    if (++r.waiting == r.participants) {
      blocked -= r.participants - 1;  // the waiters are released
      r.waiting = 0;
      r.generation++;
      r.all_arrived.notify_all();
      return;
    }
    blocked++;
    check_deadlock();
    const uint64_t round = r.generation;
    r.all_arrived.wait(lock, [&] { return r.generation != round || !fault.empty(); });
    if (r.generation == round) throw BlockAborted{};
  }

  // Every thread either waits or has returned, and none can release another: threads wait at
  // different rendezvous (e.g. some at __syncthreads, the rest of their warp in a shuffle).
  void check_deadlock() {
    if (!fault.empty() || blocked == 0 || blocked + returned < threads) return;
    std::string where;
    if (block.waiting > 0)
      where += std::to_string(block.waiting) + " at __syncthreads at " + site(block.where);
    for (const Rendezvous& warp : warps)
      if (warp.waiting > 0)
        where += (where.empty() ? "" : ", ") + std::to_string(warp.waiting) +
                 " in a warp shuffle at " + site(warp.where);
    record_fault("deadlock: every thread waits at a barrier that others never reach (" + where +
                 "; a barrier in divergent code)");
  }

  // The calling thread (rank `rank` in the block) has returned from the kernel.
  void leave(int rank) {
    std::unique_lock<std::mutex> lock(mutex);
    Rendezvous& warp = warps[size_t(rank / kWarpSize)];
    block.exited++;
    warp.exited++;
    if (fault.empty() && block.waiting > 0)
      record_fault("thread " + std::to_string(rank) + " returned from the kernel while " +
                   std::to_string(block.waiting) + " wait at __syncthreads at " +
                   site(block.where) + " (a barrier in divergent code)");
    if (fault.empty() && warp.waiting > 0)
      record_fault("thread " + std::to_string(rank) + " returned from the kernel while " +
                   std::to_string(warp.waiting) + " lanes of its warp wait in a shuffle at " +
                   site(warp.where));
    ++returned;
    check_deadlock();
    if (returned == threads) all_returned.notify_all();
  }
};

// Which block and thread the calling host thread is emulating.
thread_local BlockState* current_block = nullptr;
thread_local int current_rank = 0;

// Fills the __shared__ section with 0xCD. Byte by byte through a volatile pointer: the section also
// holds AddressSanitizer's red zones between the arrays, which only instrumented accesses check.
__attribute__((no_sanitize("address", "thread"))) void poison_shared_memory() {
  if (!__start_cuda_emulation_shared) return;
  volatile char* p = __start_cuda_emulation_shared;
  for (; p != __stop_cuda_emulation_shared; ++p) *p = char(0xcd);
}

// Host threads that run the threads of one block at a time.
class WorkerPool {
 public:
  ~WorkerPool() {
    stopping_ = true;
    for (auto& worker : workers_) worker->start.release();
    for (auto& worker : workers_) worker->thread.join();
  }

  // Runs body once in each of block->threads workers and returns when all have returned, or aborts
  // the process when they have not within `timeout`.
  void run_block(BlockState& block, const std::function<void()>& body, dim3 block_dim,
                 dim3 grid_dim, std::chrono::seconds timeout) {
    while (int(workers_.size()) < block.threads)
      workers_.push_back(std::make_unique<Worker>(*this));
    body_ = &body;
    block_ = &block;
    block_dim_ = block_dim;
    grid_dim_ = grid_dim;
    for (int rank = 0; rank < block.threads; rank++) workers_[size_t(rank)]->start.release();
    std::unique_lock<std::mutex> lock(block.mutex);
    if (!block.all_returned.wait_for(lock, timeout,
                                     [&] { return block.returned == block.threads; })) {
      std::fprintf(
          stderr,
          "cuda emulation: %s has not finished after %lld s (%d of %d threads returned): the "
          "kernel hangs; aborting\n",
          block.name().c_str(), static_cast<long long>(timeout.count()), block.returned,
          block.threads);
      std::abort();
    }
  }

 private:
  struct Worker {
    explicit Worker(WorkerPool& pool)
        : rank(int(pool.workers_.size())), thread([this, &pool] { pool.serve(*this); }) {}
    int rank;
    std::binary_semaphore start{0};
    std::thread thread;
  };

  void serve(Worker& worker) {
    for (;;) {
      worker.start.acquire();
      if (stopping_) return;
      BlockState& block = *block_;
      const int rank = worker.rank;
      threadIdx = {rank % block_dim_.x, rank / block_dim_.x % block_dim_.y,
                   rank / (block_dim_.x * block_dim_.y)};
      blockIdx = block.index;
      blockDim = block_dim_;
      gridDim = grid_dim_;
      current_block = &block;
      current_rank = rank;
      try {
        (*body_)();
      } catch (const BlockAborted&) {
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(block.mutex);
        block.record_fault(std::string("thread ") + std::to_string(rank) + " threw: " + e.what());
      }
      current_block = nullptr;
      block.leave(rank);
    }
  }

  std::vector<std::unique_ptr<Worker>> workers_;
  // What the next block runs: written before the workers are released, read by them after.
  const std::function<void()>* body_ = nullptr;
  BlockState* block_ = nullptr;
  dim3 block_dim_, grid_dim_;
  bool stopping_ = false;
};

std::chrono::seconds block_timeout() {
  const char* text = std::getenv("GLASSBOX_EMULATION_TIMEOUT");
  const long seconds = text ? std::strtol(text, nullptr, 10) : 0;
  return std::chrono::seconds(seconds > 0 ? seconds : 300);
}

BlockState& calling_block() {
  if (!current_block) throw Error("cuda emulation: a device function was called outside a kernel");
  return *current_block;
}

}  // namespace

int lane_id() { return current_rank % kWarpSize; }

void block_barrier(std::source_location where) {
  BlockState& block = calling_block();
  std::unique_lock<std::mutex> lock(block.mutex);
  block.arrive(block.block, "__syncthreads", where, lock);
}

uint64_t warp_exchange(uint64_t value, int source_lane, std::source_location where) {
  BlockState& block = calling_block();
  std::unique_lock<std::mutex> lock(block.mutex);
  Rendezvous& warp = block.warps[size_t(current_rank / kWarpSize)];
  if (source_lane >= warp.participants) {
    block.record_fault("a warp shuffle at " + site(where) + " reads lane " +
                       std::to_string(source_lane) + " of a warp of " +
                       std::to_string(warp.participants) + " threads");
    throw BlockAborted{};
  }
  // Round r writes slots[r % 2]: a lane can be one round ahead of the slowest reader, never two.
  const int buffer = int(warp.generation % 2);
  warp.slots[buffer][lane_id()] = value;
  block.arrive(warp, "a warp shuffle", where, lock);
  return warp.slots[buffer][source_lane];
}

void run_grid(dim3 grid, dim3 block_dim, size_t shared_bytes, cudaStream_t,
              const std::function<void()>& thread_body) {
  const int64_t threads = int64_t(block_dim.x) * block_dim.y * block_dim.z;
  const bool valid = grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.y <= kMaxGridY &&
                     grid.z <= kMaxGridZ && threads >= 1 && threads <= kMaxThreadsPerBlock &&
                     block_dim.z <= kMaxBlockZ;
  if (!valid) {  // as on the GPU: nothing runs, and the next cudaGetLastError says why
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  if (shared_bytes != 0)
    throw Error("cuda emulation: dynamic shared memory (" + std::to_string(shared_bytes) +
                " bytes at launch) is not emulated: no kernel here uses it");

  // One launch at a time in the process: the __shared__ variables are process-wide.
  static std::mutex launch_mutex;
  static WorkerPool pool;
  static uint64_t launches = 0;
  std::lock_guard<std::mutex> launch_lock(launch_mutex);

  // The blocks in a shuffled order, a different one at every launch: a kernel that assumes an
  // order (e.g. reads what a lower-numbered block wrote) fails somewhere.
  const int64_t num_blocks = int64_t(grid.x) * grid.y * grid.z;
  std::vector<int64_t> order(static_cast<size_t>(num_blocks));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::mt19937_64 random(0x9e3779b97f4a7c15ull ^ ++launches);
  std::shuffle(order.begin(), order.end(), random);

  const std::chrono::seconds timeout = block_timeout();
  for (const int64_t b : order) {
    BlockState block;
    block.index = {unsigned(b % grid.x), unsigned(b / grid.x % grid.y),
                   unsigned(b / (int64_t(grid.x) * grid.y))};
    block.threads = int(threads);
    block.block.participants = int(threads);
    block.warps = std::vector<Rendezvous>(size_t((threads + kWarpSize - 1) / kWarpSize));
    for (size_t w = 0; w < block.warps.size(); w++)
      block.warps[w].participants =
          int(std::min<int64_t>(kWarpSize, threads - int64_t(w) * kWarpSize));
    poison_shared_memory();
    pool.run_block(block, thread_body, block_dim, grid, timeout);
    if (!block.fault.empty()) throw Error("cuda emulation: " + block.fault);
  }
}

}  // namespace llm::emulation
