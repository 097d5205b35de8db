// implements: llm::Comm::all_reduce(double), llm::SingleComm, llm::launched_by_mpi, llm::make_comm
#include "llm/dist/comm.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "llm/core/error.hpp"

namespace llm {

#ifdef GLASSBOX_HAVE_MPI
std::unique_ptr<Comm> make_mpi_comm(double timeout_seconds);  // llm/dist/mpi_comm.cpp
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
        "gather: with one rank the shard is the whole buffer, " + std::to_string(shard.numel()) + " vs " +
            std::to_string(full.numel()) + " elements");
  if (full.data == shard.data) return;
  check(full.device == Device::cpu && shard.device == Device::cpu, "SingleComm::gather: host buffers only");
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

std::unique_ptr<Comm> make_comm(double timeout_seconds) {
  check(timeout_seconds > 0, "--comm-timeout must be positive");
  if (!launched_by_mpi()) return std::make_unique<SingleComm>();
#ifdef GLASSBOX_HAVE_MPI
  return make_mpi_comm(timeout_seconds);
#else
  throw Error("started by an MPI launcher (mpirun / srun), but this glassbox was built without MPI "
              "(GLASSBOX_MPI=OFF: install libopenmpi-dev and reconfigure)");
#endif
}

}  // namespace llm
