// implements: llm::Comm::all_reduce(double), llm::SingleComm, llm::launched_by_mpi, llm::make_comm,
//             llm::launch_env, and the start of an NcclComm (who the ranks are, NCCL's unique id)
#include "llm/dist/comm.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <span>
#include <thread>

#include <unistd.h>  // getpid

#include "llm/backend/backend.hpp"
#include "llm/core/clock.hpp"
#include "llm/core/error.hpp"

namespace llm {

namespace fs = std::filesystem;

#ifdef GLASSBOX_HAVE_MPI
// llm/dist/mpi_comm.cpp
std::unique_ptr<Comm> make_mpi_comm(double timeout_seconds);
void mpi_rank_and_world(int& rank, int& world);
void mpi_broadcast_bytes(void* data, size_t bytes, double timeout_seconds, const char* what);
[[noreturn]] void mpi_abort(int status);
#endif

#ifdef GLASSBOX_HAVE_CUDA
// kernels/nccl_comm.cu
using NcclId = std::array<char, 128>;  // the bytes of an ncclUniqueId (NCCL_UNIQUE_ID_BYTES)
NcclId make_nccl_id();
std::unique_ptr<Comm> make_nccl_comm(const NcclId& id, int rank, int world, Backend& backend,
                                     double timeout_seconds, std::function<void(int)> end_job);
#endif

double Comm::all_reduce(double value, ReduceOp op) {
  Tensor t;
  t.data = &value;
  t.dtype = DType::f64;
  t.device = Device::cpu;
  t.shape = Shape{1};
  all_reduce(t, op);
  return value;
}

void SingleComm::gather(Tensor full, Tensor shard, int) {
  check(full.numel() == shard.numel() && full.dtype == shard.dtype,
        "gather: with one rank the shard is the whole buffer, " + std::to_string(shard.numel()) +
            " vs " + std::to_string(full.numel()) + " elements");
  if (full.data == shard.data) return;
  check(full.device == Device::cpu && shard.device == Device::cpu,
        "SingleComm::gather: host buffers only");
  std::memcpy(full.data, shard.data, shard.nbytes());
}

void SingleComm::abort(int status) {
  std::fflush(stdout);
  std::exit(status);
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

namespace {

// The first of `names` that is set, as a non-negative integer; -1 when none is set.
int env_int(std::span<const char* const> names) {
  for (const char* name : names) {
    const char* text = std::getenv(name);
    if (text == nullptr) continue;
    const char* end = text + std::strlen(text);
    int value = -1;
    const auto [stop, error] = std::from_chars(text, end, value);
    check(error == std::errc() && stop == end && value >= 0,
          std::string(name) + "='" + text + "' is not a rank number (a non-negative integer)");
    return value;
  }
  return -1;
}

}  // namespace

LaunchEnv launch_env() {
  LaunchEnv env;
  env.rank = env_int(launch_env_rank_names);
  env.world = env_int(launch_env_world_names);
  env.local_rank = env_int(launch_env_local_rank_names);
  return env;
}

std::unique_ptr<Comm> make_comm(double timeout_seconds) {
  check(timeout_seconds > 0, "--comm-timeout must be positive");
  if (!launched_by_mpi()) return std::make_unique<SingleComm>();
#ifdef GLASSBOX_HAVE_MPI
  return make_mpi_comm(timeout_seconds);
#else
  throw Error(
      "started by an MPI launcher (mpirun / srun), but this glassbox was built without MPI "
      "(GLASSBOX_MPI=OFF: install libopenmpi-dev and reconfigure)");
#endif
}

#ifdef GLASSBOX_HAVE_CUDA
namespace {

// "A / B / C", for messages that name the variables a value came from.
std::string joined(std::span<const char* const> names) {
  std::string out;
  for (const char* name : names) out += (out.empty() ? "" : " / ") + std::string(name);
  return out;
}

// NCCL's unique id from rank 0 to the others through a file, for ranks started without MPI (one
// process per GPU from a Slurm script). Rank 0 writes PATH.tmp.PID and renames it over PATH, which
// POSIX makes atomic: a reader finds either no file or all of it. The others poll for it.
NcclId share_nccl_id_through_file(const fs::path& path, int rank, double timeout_seconds) {
  NcclId id{};
  if (rank == 0) {
    id = make_nccl_id();
    const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(id.data(), std::streamsize(id.size()));
      check(bool(out), "GLASSBOX_NCCL_ID_FILE: cannot write " + tmp.string());
    }
    fs::rename(tmp, path);
    return id;
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  for (;;) {
    std::error_code no_file;
    if (fs::file_size(path, no_file) == id.size()) {
      std::ifstream in(path, std::ios::binary);
      in.read(id.data(), std::streamsize(id.size()));
      if (in.gcount() == std::streamsize(id.size())) return id;
    }
    const double waited = seconds_since(start);
    check(waited < timeout_seconds,
          "rank " + std::to_string(rank) + ": GLASSBOX_NCCL_ID_FILE " + path.string() +
              " has not appeared after " + std::to_string(int(waited)) +
              " s (--comm-timeout): is rank 0 running, and is the path on a file "
              "system every rank sees?");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// An NcclComm on `backend`, or a SingleComm when `kind` is "auto" and there is one rank.
std::unique_ptr<Comm> make_gpu_comm(double timeout_seconds, Backend& backend,
                                    const std::string& kind) {
  int rank = 0, world = 1;
  NcclId id{};
  std::function<void(int)> end_job;  // how Comm::abort ends every rank; empty: this process exits
  fs::path id_file;                  // set when the id went through a file
  if (launched_by_mpi()) {
#ifdef GLASSBOX_HAVE_MPI
    // MPI for the start only: the ranks, and the id from rank 0. The collectives then go over NCCL.
    mpi_rank_and_world(rank, world);
    if (world == 1 && kind == "auto") return std::make_unique<SingleComm>();
    if (rank == 0) id = make_nccl_id();
    mpi_broadcast_bytes(id.data(), id.size(), timeout_seconds, "NCCL's unique id");
    end_job = mpi_abort;
#else
    throw Error(
        "started by an MPI launcher (mpirun / srun --mpi), but this glassbox was built without MPI "
        "(GLASSBOX_MPI=OFF: install libopenmpi-dev and reconfigure, or start one process per GPU "
        "with GLASSBOX_NCCL_ID_FILE set, see experiments/distributed/README.md)");
#endif
  } else {
    const LaunchEnv env = launch_env();
    if (env.world >= 1) world = env.world;
    if (env.rank >= 0) rank = env.rank;
    check(rank < world, "rank " + std::to_string(rank) + " (" + joined(launch_env_rank_names) +
                            ") is not below the world size " + std::to_string(world) + " (" +
                            joined(launch_env_world_names) + ")");
    if (world == 1 && kind == "auto") return std::make_unique<SingleComm>();
    if (world == 1) {
      id = make_nccl_id();
    } else {
      const char* path = std::getenv("GLASSBOX_NCCL_ID_FILE");
      check(path != nullptr && *path != '\0',
            "the environment says " + std::to_string(world) + " ranks (" +
                joined(launch_env_world_names) +
                ") and no MPI "
                "launcher started them, so NCCL's unique id must go through a file: set "
                "GLASSBOX_NCCL_ID_FILE to a new "
                "path every rank sees (e.g. runs/nccl_id.$SLURM_JOB_ID), or launch with mpirun / "
                "srun --mpi=pmix; for "
                "one process, set GLASSBOX_WORLD_SIZE=1");
      id_file = path;
      id = share_nccl_id_through_file(id_file, rank, timeout_seconds);
    }
  }
  std::unique_ptr<Comm> comm = make_nccl_comm(id, rank, world, backend, timeout_seconds, end_job);
  // Rank 0's communicator is ready only once every rank has joined with the id, so every rank has
  // read the file by now: remove it, so that a later job cannot read a stale id.
  if (rank == 0 && !id_file.empty()) {
    std::error_code ignored;
    fs::remove(id_file, ignored);
  }
  return comm;
}

}  // namespace
#endif

std::unique_ptr<Comm> make_comm(double timeout_seconds, Backend& backend, const std::string& kind) {
  check(timeout_seconds > 0, "--comm-timeout must be positive");
  check(kind == "auto" || kind == "nccl" || kind == "mpi",
        "--comm must be auto, nccl or mpi (got '" + kind + "')");
  const bool gpu = backend.device() == Device::cuda;
  if (!gpu) {
    check(kind != "nccl", "--comm nccl needs --device cuda (NCCL moves GPU buffers)");
    if (kind == "auto") return make_comm(timeout_seconds);
#ifdef GLASSBOX_HAVE_MPI
    return make_mpi_comm(timeout_seconds);
#else
    throw Error(
        "--comm mpi: this glassbox was built without MPI (GLASSBOX_MPI=OFF: install libopenmpi-dev "
        "and "
        "reconfigure)");
#endif
  }
  check(kind != "mpi",
        "--comm mpi needs --device cpu (MpiComm moves host buffers; GPU tensors go over NCCL: "
        "--comm auto or nccl)");
#ifdef GLASSBOX_HAVE_CUDA
  return make_gpu_comm(timeout_seconds, backend, kind);
#else
  throw Error("--device cuda: this glassbox was built without the CUDA backend (and NCCL)");
#endif
}

#ifndef GLASSBOX_HAVE_CUDA
int use_local_gpu() { return 0; }  // no GPU to choose: make_backend("cuda") says why
#endif

}  // namespace llm
