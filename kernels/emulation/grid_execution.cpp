// The CUDA emulation's execution of a kernel launch: every thread of a block is a fiber (a stack
// and a saved register context of its own, ucontext(3)) on the launching host thread, and the
// blocks of the grid run one after another, in a shuffled order.
//
// A block. Its threads are the first blockDim.x * blockDim.y * blockDim.z fibers of a pool that
// lives as long as the process (stacks are allocated once, not per block). A scheduler on the
// launching thread resumes them one at a time, in an order shuffled for every block: each runs the
// kernel until it reaches a rendezvous or returns, then hands control back. Before resuming a fiber
// the scheduler sets threadIdx, blockIdx, blockDim and gridDim to that thread's values. Only one
// block runs at a time, so the kernels' __shared__ arrays (static variables here, see
// include/cuda_runtime.h) belong to that block. Before each block they are refilled with the byte
// 0xCD, so a thread that reads shared memory no thread of its block wrote reads garbage (as on a
// GPU), not the previous block's values.
//
// Why fibers and not host threads: a barrier of host threads sends every one of them through the
// operating system's scheduler, and a block of 256 threads on a 2-core machine spent most of its
// time there. A fiber switch saves and restores a few registers in user space.
//
// Rendezvous. __syncthreads is a barrier of the block's threads, and a warp shuffle a barrier of
// the warp's 32 lanes (threads 32w .. 32w + 31, as on the GPU) that also swaps one value per lane.
// A barrier is a fault, reported rather than tolerated, when:
//   - threads of one group wait at different call sites (a barrier inside divergent code),
//   - a thread of the group has returned from the kernel while others wait (they would hang), or
//   - every thread of the block waits and none can go on (threads at different rendezvous).
// A fault ends the block at once: every waiting thread is resumed into an exception that unwinds
// it, and the launch throws llm::Error with the message, naming the call site (file:line) and the
// block.
//
// Races. Between two barriers the threads of a block run one after another, in the shuffled order:
// one of the orders a GPU may take. The ThreadSanitizer build of the emulation
// (kernels/emulation/CMakeLists.txt) gives every fiber a history of its own and is told of no
// ordering but the barriers' (a fiber switch synchronizes nothing), so two threads that touch the
// same shared or global location with no barrier between them are a reported race, whichever ran
// first. In that build this file itself is compiled without ThreadSanitizer's instrumentation
// (GLASSBOX_EMULATION_TSAN): the scheduler's bookkeeping is shared by all fibers by design.
//
// Hangs. A thread that never reaches its next barrier (an endless loop) cannot be interrupted: a
// watchdog thread aborts the process, naming the block, once a block has run for
// GLASSBOX_EMULATION_TIMEOUT seconds (default 300), instead of hanging.
#include <cuda_runtime.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "llm/core/error.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(GLASSBOX_EMULATION_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

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

// Each fiber's stack, above an inaccessible guard page that turns an overflow into a crash at the
// overflowing access. The kernels need a few KiB; the rest leaves room for AddressSanitizer's
// larger frames and its reports. Pages are only backed once touched.
constexpr size_t kStackBytes = size_t(256) << 10;
constexpr size_t kGuardBytes = size_t(4) << 10;

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

// ThreadSanitizer's happens-before edges (nothing in the other builds): every write a fiber made
// before release(token) is ordered before every access another makes after acquire(token).
void happens_before_release([[maybe_unused]] void* token) {
#if defined(GLASSBOX_EMULATION_TSAN)
  __tsan_release(token);
#endif
}
void happens_before_acquire([[maybe_unused]] void* token) {
#if defined(GLASSBOX_EMULATION_TSAN)
  __tsan_acquire(token);
#endif
}

// Saves the running context into `from` and continues `to`, whose stack is [to_stack, to_stack +
// to_stack_bytes), telling the sanitizers: AddressSanitizer must know which stack is in use to
// check and unwind it (`from_fake_stack` keeps its state of the stack left), ThreadSanitizer which
// fiber's history the next accesses belong to. Returns when something switches back to `from`.
void switch_context(ucontext_t& from, [[maybe_unused]] void** from_fake_stack, const ucontext_t& to,
                    [[maybe_unused]] const void* to_stack, [[maybe_unused]] size_t to_stack_bytes,
                    [[maybe_unused]] void* to_tsan_fiber) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(from_fake_stack, to_stack, to_stack_bytes);
#endif
#if defined(GLASSBOX_EMULATION_TSAN)
  __tsan_switch_to_fiber(to_tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
  swapcontext(&from, &to);
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(*from_fake_stack, nullptr, nullptr);
#endif
}

class FiberPool;

// One barrier: the threads of a group (the block, or one warp) wait until all have arrived.
struct Rendezvous {
  int participants = 0;
  int waiting = 0;
  int exited = 0;              // threads of the group that have returned from the kernel
  uint64_t generation = 0;     // rounds completed
  std::source_location where;  // the call site of the round in progress
  int first_rank = 0;          // the group is the ranks [first_rank, first_rank + participants)
  uint64_t slots[2][kWarpSize] = {};  // warp shuffles: one value per lane, double-buffered by round
  // ThreadSanitizer's tokens for a round's ordering, by the round's parity: a thread that arrives
  // at the next round before a slow one has left this round must not order its new writes before
  // that thread's reads.
  char round_token[2] = {};
};

// The state of the block that is running.
struct BlockState {
  FiberPool* fibers = nullptr;
  uint3 index{};
  int threads = 0;
  int returned = 0;
  std::string fault;  // the first fault; empty while none
  Rendezvous block;
  std::vector<Rendezvous> warps;
  // ThreadSanitizer's tokens: the launch before the block, the block before the launch goes on,
  // and the fault's text before the launch reads it.
  char start_token = 0, end_token = 0, fault_token = 0;

  std::string name() const {
    return "block (" + std::to_string(index.x) + ", " + std::to_string(index.y) + ", " +
           std::to_string(index.z) + ")";
  }

  // Keeps the first fault. The text is written by the faulting thread and read by the launch:
  // ThreadSanitizer is told the launch reads it after (fault_token).
  void record_fault(const std::string& what) {
    if (fault.empty()) fault = what + ", in " + name();
    happens_before_release(&fault_token);
  }

  // The calling thread arrives at `r` from `where` and waits for the rest of its group.
  void arrive(Rendezvous& r, const char* what, const std::source_location& where);

  // Every thread either waits or has returned, and none can release another: threads wait at
  // different rendezvous (e.g. some at __syncthreads, the rest of their warp in a shuffle).
  void record_deadlock() {
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

  // The thread of rank `rank` has returned from the kernel.
  void leave(int rank) {
    Rendezvous& warp = warps[size_t(rank / kWarpSize)];
    block.exited++;
    warp.exited++;
    if (block.waiting > 0)
      record_fault("thread " + std::to_string(rank) + " returned from the kernel while " +
                   std::to_string(block.waiting) + " wait at __syncthreads at " +
                   site(block.where) + " (a barrier in divergent code)");
    if (warp.waiting > 0)
      record_fault("thread " + std::to_string(rank) + " returned from the kernel while " +
                   std::to_string(warp.waiting) + " lanes of its warp wait in a shuffle at " +
                   site(warp.where));
    ++returned;
  }
};

// Which block and thread the running fiber is emulating (set by the scheduler before each resume).
thread_local BlockState* current_block = nullptr;
thread_local int current_rank = 0;

// Fills the __shared__ section with 0xCD. Byte by byte through a volatile pointer: the section also
// holds AddressSanitizer's red zones between the arrays, which only instrumented accesses check.
__attribute__((no_sanitize("address", "thread"))) void poison_shared_memory() {
  if (!__start_cuda_emulation_shared) return;
  volatile char* p = __start_cuda_emulation_shared;
  for (; p != __stop_cuda_emulation_shared; ++p) *p = char(0xcd);
}

// The fibers that run the threads of one block at a time, and their scheduler.
class FiberPool {
 public:
  // The process's one pool (one launch runs at a time).
  static FiberPool& the_pool() {
    static FiberPool pool;
    return pool;
  }

  ~FiberPool() {
    for (auto& fiber : fibers_) {
      ::munmap(fiber->stack - kGuardBytes, kGuardBytes + kStackBytes);
#if defined(GLASSBOX_EMULATION_TSAN)
      __tsan_destroy_fiber(fiber->tsan_fiber);
#endif
    }
  }

  // Runs body once in each of block.threads fibers, resuming them in a random order until every
  // one has returned from it.
  void run_block(BlockState& block, const std::function<void()>& body, dim3 block_dim,
                 dim3 grid_dim, std::mt19937_64& random) {
    while (int(fibers_.size()) < block.threads) fibers_.push_back(make_fiber(int(fibers_.size())));
#if defined(GLASSBOX_EMULATION_TSAN)
    scheduler_tsan_fiber_ = __tsan_get_current_fiber();
#endif
    body_ = &body;
    block_ = &block;
    block_dim_ = block_dim;
    grid_dim_ = grid_dim;
    order_.resize(size_t(block.threads));
    std::iota(order_.begin(), order_.end(), 0);
    std::shuffle(order_.begin(), order_.end(), random);
    happens_before_release(&block.start_token);
    for (int rank = 0; rank < block.threads; rank++) start(*fibers_[size_t(rank)]);
    while (block.returned < block.threads) {
      bool progressed = false;
      for (const int rank : order_) {
        if (fibers_[size_t(rank)]->state != State::runnable) continue;
        resume(rank);
        progressed = true;
        if (!block.fault.empty()) wake_all_waiting();
      }
      if (!progressed) {  // every thread that has not returned waits, and none was released
        block.record_deadlock();
        wake_all_waiting();
      }
    }
    happens_before_acquire(&block.end_token);
  }

  // On a fiber: hands control back to the scheduler until wake(rank) (or a fault) resumes it.
  void wait() {
    Fiber& fiber = *fibers_[size_t(running_)];
    fiber.state = State::waiting;
    switch_context(fiber.context, &fiber.asan_fake_stack, scheduler_context_, scheduler_stack_,
                   scheduler_stack_bytes_, scheduler_tsan_fiber_);
  }

  // Resumes (on the scheduler's next pass) the waiting threads of ranks [first, first + count).
  // The caller knows they all wait at one rendezvous, the one just completed.
  void wake_waiting(int first, int count) {
    for (int rank = first; rank < first + count; rank++)
      if (fibers_[size_t(rank)]->state == State::waiting)
        fibers_[size_t(rank)]->state = State::runnable;
  }

 private:
  enum class State { runnable, waiting, returned };

  // One emulated thread: its stack and its saved context.
  struct Fiber {
    char* stack = nullptr;  // kStackBytes, above a guard page
    ucontext_t context{};
    State state = State::returned;
    void* asan_fake_stack = nullptr;  // AddressSanitizer's state of this stack while it is left
    void* tsan_fiber = nullptr;       // ThreadSanitizer's history of this fiber
  };

  // `rank` names the fiber in ThreadSanitizer's reports.
  static std::unique_ptr<Fiber> make_fiber([[maybe_unused]] int rank) {
    auto fiber = std::make_unique<Fiber>();
    void* memory = ::mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    check(memory != MAP_FAILED, "cuda emulation: cannot allocate the stack of a CUDA thread");
    ::mprotect(memory, kGuardBytes, PROT_NONE);
    fiber->stack = static_cast<char*>(memory) + kGuardBytes;
#if defined(GLASSBOX_EMULATION_TSAN)
    fiber->tsan_fiber = __tsan_create_fiber(0);
    const std::string name = "CUDA thread " + std::to_string(rank) + " of the block";
    __tsan_set_fiber_name(fiber->tsan_fiber, name.c_str());
#endif
    return fiber;
  }

  // Prepares the fiber to run the kernel from its start (on its first resume).
  void start(Fiber& fiber) {
    ::getcontext(&fiber.context);
    fiber.context.uc_stack.ss_sp = fiber.stack;
    fiber.context.uc_stack.ss_size = kStackBytes;
    fiber.context.uc_link = &scheduler_context_;  // where the fiber goes when fiber_main returns
    ::makecontext(&fiber.context, &FiberPool::fiber_main, 0);
    fiber.state = State::runnable;
  }

  // Sets the built-in indices of the thread of rank `rank` and runs it until it waits or returns.
  void resume(int rank) {
    Fiber& fiber = *fibers_[size_t(rank)];
    threadIdx = {rank % block_dim_.x, rank / block_dim_.x % block_dim_.y,
                 rank / (block_dim_.x * block_dim_.y)};
    blockIdx = block_->index;
    blockDim = block_dim_;
    gridDim = grid_dim_;
    current_block = block_;
    current_rank = rank;
    running_ = rank;
    switch_context(scheduler_context_, &scheduler_fake_stack_, fiber.context, fiber.stack,
                   kStackBytes, fiber.tsan_fiber);
    current_block = nullptr;
  }

  void wake_all_waiting() { wake_waiting(0, block_->threads); }

  // What every fiber runs: the kernel's thread body, once.
  static void fiber_main() {
    FiberPool& pool = the_pool();
#if defined(__SANITIZE_ADDRESS__)
    // The stack switched from is the scheduler's: note it, to switch back to it.
    const void* scheduler_stack = nullptr;
    __sanitizer_finish_switch_fiber(nullptr, &scheduler_stack, &pool.scheduler_stack_bytes_);
    pool.scheduler_stack_ = scheduler_stack;
#endif
    BlockState& block = *pool.block_;
    const int rank = pool.running_;
    happens_before_acquire(&block.start_token);
    try {
      (*pool.body_)();
    } catch (const BlockAborted&) {
    } catch (const std::exception& e) {
      block.record_fault(std::string("thread ") + std::to_string(rank) + " threw: " + e.what());
    }
    block.leave(rank);
    pool.fibers_[size_t(rank)]->state = State::returned;
    happens_before_release(&block.end_token);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_start_switch_fiber(nullptr, pool.scheduler_stack_, pool.scheduler_stack_bytes_);
#endif
#if defined(GLASSBOX_EMULATION_TSAN)
    __tsan_switch_to_fiber(pool.scheduler_tsan_fiber_, __tsan_switch_to_fiber_no_sync);
#endif
  }  // returns into uc_link: the scheduler, as if the fiber had waited

  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<int> order_;  // the block's ranks in the order the scheduler resumes them
  int running_ = 0;         // the rank of the fiber running (or last run)
  // What the running block runs.
  const std::function<void()>* body_ = nullptr;
  BlockState* block_ = nullptr;
  dim3 block_dim_, grid_dim_;
  // The scheduler's side of every switch.
  ucontext_t scheduler_context_{};
  void* scheduler_fake_stack_ = nullptr;
  const void* scheduler_stack_ = nullptr;
  size_t scheduler_stack_bytes_ = 0;
  void* scheduler_tsan_fiber_ = nullptr;
};

void BlockState::arrive(Rendezvous& r, const char* what, const std::source_location& where) {
  if (!fault.empty()) throw BlockAborted{};
  if (r.exited > 0) {
    record_fault(std::string(what) + " at " + site(where) + " waits for " +
                 std::to_string(r.exited) +
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
  const uint64_t round = r.generation;
  char* token = &r.round_token[round % 2];
  happens_before_release(token);
  if (++r.waiting == r.participants) {  // the last to arrive releases the others
    r.waiting = 0;
    r.generation++;
    fibers->wake_waiting(r.first_rank, r.participants);
    happens_before_acquire(token);
    return;
  }
  fibers->wait();
  if (r.generation == round) throw BlockAborted{};  // resumed by a fault, not by the last arrival
  happens_before_acquire(token);
}

// Aborts the process when one block has run past the timeout, naming it: a thread in an endless
// loop never hands control back to the scheduler, so only another host thread can notice.
class HangWatchdog {
 public:
  explicit HangWatchdog(std::chrono::seconds timeout)
      : timeout_(timeout), thread_([this] { watch(); }) {}
  ~HangWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  // `block` outlives the call to block_finished; its name is only built for the report.
  void block_started(const BlockState& block) {
    std::lock_guard<std::mutex> lock(mutex_);
    block_ = &block;
    deadline_ = std::chrono::steady_clock::now() + timeout_;
  }
  void block_finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    block_ = nullptr;
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      if (block_ && std::chrono::steady_clock::now() > deadline_) {
        std::fprintf(stderr,
                     "cuda emulation: %s has not finished after %lld s: a thread of it neither "
                     "returns nor reaches a barrier (the kernel hangs); aborting\n",
                     block_->name().c_str(), static_cast<long long>(timeout_.count()));
        std::abort();
      }
    }
  }

  const std::chrono::seconds timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  const BlockState* block_ = nullptr;  // the block running; null between blocks
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
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
  block.arrive(block.block, "__syncthreads", where);
}

uint64_t warp_exchange(uint64_t value, int source_lane, std::source_location where) {
  BlockState& block = calling_block();
  const int rank = current_rank;
  Rendezvous& warp = block.warps[size_t(rank / kWarpSize)];
  if (source_lane >= warp.participants) {
    block.record_fault("a warp shuffle at " + site(where) + " reads lane " +
                       std::to_string(source_lane) + " of a warp of " +
                       std::to_string(warp.participants) + " threads");
    throw BlockAborted{};
  }
  // Round r writes slots[r % 2]: a lane can be one round ahead of the slowest reader, never two.
  const int buffer = int(warp.generation % 2);
  warp.slots[buffer][rank % kWarpSize] = value;
  block.arrive(warp, "a warp shuffle", where);
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
  static HangWatchdog watchdog(block_timeout());
  static uint64_t launches = 0;
  std::lock_guard<std::mutex> launch_lock(launch_mutex);
  FiberPool& fibers = FiberPool::the_pool();

  // The blocks in a shuffled order, a different one at every launch: a kernel that assumes an
  // order (e.g. reads what a lower-numbered block wrote) fails somewhere. The threads of each block
  // are resumed in a shuffled order too.
  const int64_t num_blocks = int64_t(grid.x) * grid.y * grid.z;
  std::vector<int64_t> order(static_cast<size_t>(num_blocks));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::mt19937_64 random(0x9e3779b97f4a7c15ull ^ ++launches);
  std::shuffle(order.begin(), order.end(), random);

  for (const int64_t b : order) {
    BlockState block;
    block.fibers = &fibers;
    block.index = {unsigned(b % grid.x), unsigned(b / grid.x % grid.y),
                   unsigned(b / (int64_t(grid.x) * grid.y))};
    block.threads = int(threads);
    block.block.participants = int(threads);
    block.warps = std::vector<Rendezvous>(size_t((threads + kWarpSize - 1) / kWarpSize));
    for (size_t w = 0; w < block.warps.size(); w++) {
      block.warps[w].first_rank = int(w) * kWarpSize;
      block.warps[w].participants =
          int(std::min<int64_t>(kWarpSize, threads - int64_t(w) * kWarpSize));
    }
    poison_shared_memory();
    watchdog.block_started(block);
    fibers.run_block(block, thread_body, block_dim, grid, random);
    watchdog.block_finished();
    if (!block.fault.empty()) {
      happens_before_acquire(&block.fault_token);
      throw Error("cuda emulation: " + block.fault);
    }
  }
}

}  // namespace llm::emulation
