// NcclComm (kernels/nccl_comm.cu) on GPU buffers, through make_comm(..., "nccl"): world 1 as a
// plain program (ctest entry test_nccl_comm), every rank under `mpirun -np 2`
// (nccl_comm_collectives_2 in tests/nccl.cmake, one GPU per rank). Every expected value is written
// for any world. Without a GPU (or without enough of them for the ranks on this node) each GPU case
// prints "SKIPPED (no GPU: why)" and passes; the case about choosing the communicator runs
// everywhere.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/backend/backend.hpp"
#include "llm/backend/host_copy.hpp"
#include "llm/data/prepare.hpp"
#include "llm/dist/comm.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/trainer.hpp"
#include "train_fixture.hpp"

namespace fs = std::filesystem;
using namespace llm;
using train_fixture::make_dataset;
using train_fixture::read_metrics;

namespace {

// True, after printing "SKIPPED (no GPU: why)", when this machine cannot run the NCCL cases; false
// when it can, and then this rank's GPU is chosen, as train() does before making the backend.
bool skipped(const char* test) {
  std::string why;
  if (cuda_available(&why)) {
    // mpirun says how many ranks share this node; NCCL needs a GPU for each. Every rank of the node
    // sees the same numbers, so they all skip or none does.
    const char* local_size = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const int ranks_here = local_size ? std::atoi(local_size) : 1;
    const int gpus = use_local_gpu();
    if (gpus >= ranks_here) return false;
    why = std::to_string(ranks_here) + " ranks on this node, " + std::to_string(gpus) +
          " GPUs; NCCL needs one per rank";
  }
  std::printf("SKIPPED (no GPU: %s): %s\n", why.c_str(), test);
  return true;
}

// The CUDA backend on this rank's GPU and an NcclComm for it (in the order train() makes them), or
// nothing when the case is skipped.
struct Nccl {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Comm> comm;
};
std::optional<Nccl> nccl_or_skip(const char* test) {
  if (skipped(test)) return std::nullopt;
  Nccl nccl;
  nccl.backend = make_backend("cuda");
  nccl.comm = make_comm(60, *nccl.backend, "nccl");
  return nccl;
}

// Rank r's value for element i: a small integer plus a half, exact in every dtype used here, and
// distinct per rank and element.
double value(int rank, int64_t i) { return 4.0 * rank + double(i % 16) + 0.5; }

// bf16 keeps 8 significant bits: NCCL rounds its partial sums to them on every ring hop.
double tolerance(DType dtype) { return dtype == DType::bf16 ? 1.0 / 64 : 1e-6; }

// n elements of `dtype` in GPU memory, element i = fill(i).
template <typename Fill> FlatBuffer on_gpu(Backend& backend, DType dtype, int64_t n, Fill&& fill) {
  FlatBuffer buffer(backend, dtype, n);
  std::vector<double> host(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) host[size_t(i)] = fill(i);
  tensor_from_host_f64(backend, buffer.tensor, host);
  return buffer;
}

}  // namespace

TEST_CASE("make_comm: --comm picks the communicator; a wrong pairing with the device is an error") {
  if (launched_by_mpi())
    return;  // under mpirun "auto" on the CPU would be MpiComm: covered by test_comm
  std::unique_ptr<Backend> cpu = make_cpu_backend();
  CHECK(std::string(make_comm(60, *cpu, "auto")->name()) == "single");
  CHECK_THROWS_WITH_AS(make_comm(60, *cpu, "nccl"), doctest::Contains("--device cuda"), Error);
  CHECK_THROWS_WITH_AS(make_comm(60, *cpu, "gloo"),
                       doctest::Contains("--comm must be auto, nccl or mpi"), Error);
  CHECK_THROWS_WITH_AS(make_comm(0, *cpu, "auto"), doctest::Contains("--comm-timeout"), Error);
}

TEST_CASE("NcclComm: all_reduce, sum and average, in every dtype; host scalars; barrier") {
  std::optional<Nccl> nccl = nccl_or_skip("NcclComm all_reduce");
  if (!nccl) return;
  Backend& backend = *nccl->backend;
  Comm& comm = *nccl->comm;
  const int W = comm.world_size(), rank = comm.rank();
  MESSAGE("communicator " << comm.name() << ", rank " << rank << " of " << W);
  CHECK(std::string(comm.name()) == "nccl");
  const double rank_sum = 2.0 * W * (W - 1);  // the sum over ranks r of 4 r

  const int64_t n = 1027;  // not a multiple of anything NCCL might like
  for (DType dtype : {DType::bf16, DType::f32, DType::f64}) {
    INFO("dtype " << dtype_name(dtype));
    FlatBuffer summed = on_gpu(backend, dtype, n, [&](int64_t i) { return value(rank, i); });
    FlatBuffer averaged = on_gpu(backend, dtype, n, [&](int64_t i) { return value(rank, i); });
    comm.all_reduce(summed.tensor, ReduceOp::sum);
    comm.all_reduce(averaged.tensor, ReduceOp::average);
    const std::vector<double> sums = tensor_to_host_f64(backend, summed.tensor);
    const std::vector<double> means = tensor_to_host_f64(backend, averaged.tensor);
    for (int64_t i = 0; i < n; i++) {
      const double expected_sum = rank_sum + W * (double(i % 16) + 0.5);
      REQUIRE(sums[size_t(i)] == doctest::Approx(expected_sum).epsilon(tolerance(dtype)));
      REQUIRE(means[size_t(i)] == doctest::Approx(expected_sum / W).epsilon(tolerance(dtype)));
    }
  }

  // i32: sums only (an average of integers is refused, as by MpiComm)
  FlatBuffer ints(backend, DType::i32, 3);
  const std::vector<int32_t> mine = {rank, 1, -2};
  backend.copy_from_host(ints.tensor, mine.data());
  comm.all_reduce(ints.tensor, ReduceOp::sum);
  std::vector<int32_t> got(3);
  backend.copy_to_host(got.data(), ints.tensor);
  CHECK(got[0] == W * (W - 1) / 2);
  CHECK(got[1] == W);
  CHECK(got[2] == -2 * W);
  CHECK_THROWS_WITH_AS(comm.all_reduce(ints.tensor, ReduceOp::average),
                       doctest::Contains("floating-point"), Error);

  // Host tensors go through a device buffer: the trainer's loss and sums of squares.
  CHECK(comm.all_reduce(double(rank + 1), ReduceOp::sum) == W * (W + 1) / 2.0);
  CHECK(comm.all_reduce(0.1 * (rank + 1), ReduceOp::average) == doctest::Approx(0.1 * (W + 1) / 2));
  std::vector<float> host = {float(rank), 2.5f};
  Tensor host_view{host.data(), DType::f32, Device::cpu, Shape{2}};
  comm.all_reduce(host_view, ReduceOp::sum);
  CHECK(host[0] == float(W * (W - 1) / 2));
  CHECK(host[1] == 2.5f * float(W));

  comm.barrier();
}

TEST_CASE(
    "NcclComm: reduce_scatter leaves this rank's shard averaged; all_gather puts the shards "
    "together") {
  std::optional<Nccl> nccl = nccl_or_skip("NcclComm reduce_scatter/all_gather");
  if (!nccl) return;
  Backend& backend = *nccl->backend;
  Comm& comm = *nccl->comm;
  const int W = comm.world_size(), rank = comm.rank();
  const double rank_sum = 2.0 * W * (W - 1);  // the sum over ranks r of 4 r
  // Multiples of W take NCCL's ReduceScatter / AllGather; the others (with W > 1) one ncclReduce /
  // ncclBroadcast per rank. n = 1 leaves every rank but one with an empty shard.
  for (int64_t n : {int64_t(1), int64_t(11), int64_t(4096) * W, int64_t(4096) * W + 1}) {
    for (DType dtype : {DType::bf16, DType::f32}) {
      INFO("n " << n << ", dtype " << dtype_name(dtype));
      FlatBuffer buf = on_gpu(backend, dtype, n, [&](int64_t i) { return value(rank, i); });
      comm.reduce_scatter(buf.tensor, ReduceOp::average);
      std::vector<double> host = tensor_to_host_f64(backend, buf.tensor);
      const ShardRange own = shard_range(n, W, rank);
      for (int64_t i = own.begin; i < own.end; i++)
        REQUIRE(host[size_t(i)] ==
                doctest::Approx(rank_sum / W + double(i % 16) + 0.5).epsilon(tolerance(dtype)));

      // all_gather: each rank writes a rank-specific value into its own shard only (exact in bf16)
      for (int64_t i = own.begin; i < own.end; i++) host[size_t(i)] = double(rank * 16 + i % 16);
      tensor_from_host_f64(backend, buf.tensor, host);
      comm.all_gather(buf.tensor);
      host = tensor_to_host_f64(backend, buf.tensor);
      for (int r = 0; r < W; r++) {
        const ShardRange s = shard_range(n, W, r);
        for (int64_t i = s.begin; i < s.end; i++)
          REQUIRE(host[size_t(i)] == double(r * 16 + i % 16));
      }
    }
  }
}

TEST_CASE(
    "NcclComm: broadcast from the last rank; gather of f32 shards into one GPU buffer on the "
    "root") {
  std::optional<Nccl> nccl = nccl_or_skip("NcclComm broadcast/gather");
  if (!nccl) return;
  Backend& backend = *nccl->backend;
  Comm& comm = *nccl->comm;
  const int W = comm.world_size(), rank = comm.rank();
  const int root = W - 1;

  for (DType dtype : {DType::bf16, DType::f64}) {
    FlatBuffer x = on_gpu(backend, dtype, 5, [&](int64_t i) { return double(rank * 8 + i); });
    comm.broadcast(x.tensor, root);
    const std::vector<double> got = tensor_to_host_f64(backend, x.tensor);
    for (int64_t i = 0; i < 5; i++) CHECK(got[size_t(i)] == double(root * 8 + i));
  }

  // As save_training_checkpoint does with ZeRO-1's f32 moments: only the root holds the full
  // buffer.
  for (int64_t n : {int64_t(11), int64_t(4096) * W, int64_t(1)}) {
    INFO("n " << n);
    const ShardRange own = shard_range(n, W, rank);
    FlatBuffer shard = on_gpu(backend, DType::f32, own.size(),
                              [&](int64_t i) { return double(1000 * rank + own.begin + i); });
    std::optional<FlatBuffer> full;
    Tensor full_view{nullptr, DType::f32, Device::cuda, Shape{n}};  // off the root: the shape only
    if (rank == root) full_view = full.emplace(backend, DType::f32, n).tensor;
    comm.gather(full_view, shard.tensor, root);
    if (rank == root) {
      const std::vector<double> got = tensor_to_host_f64(backend, full_view);
      for (int r = 0; r < W; r++) {
        const ShardRange s = shard_range(n, W, r);
        for (int64_t i = s.begin; i < s.end; i++) REQUIRE(got[size_t(i)] == double(1000 * r + i));
      }
    }
  }
  // The root's shard may already be a view of the full buffer (nothing to copy for it).
  const int64_t n = 7;
  FlatBuffer full =
      on_gpu(backend, DType::f32, n, [&](int64_t i) { return double(100 * rank + i); });
  const ShardRange own = shard_range(n, W, rank);
  comm.gather(full.tensor, flat_range(full.tensor, own.begin, own.end), root);
  if (rank == root) {
    const std::vector<double> got = tensor_to_host_f64(backend, full.tensor);
    for (int r = 0; r < W; r++) {
      const ShardRange s = shard_range(n, W, r);
      for (int64_t i = s.begin; i < s.end; i++) CHECK(got[size_t(i)] == double(100 * r + i));
    }
  }

  std::vector<float> host_shard(size_t(own.size()));
  Tensor host_view{host_shard.data(), DType::f32, Device::cpu, Shape{own.size()}};
  CHECK_THROWS_WITH_AS(comm.gather(full.tensor, host_view, root), doctest::Contains("GPU buffers"),
                       Error);
  CHECK_THROWS_WITH_AS(make_comm(60, backend, "mpi"), doctest::Contains("--device cpu"), Error);
}

TEST_CASE(
    "NcclComm: start_reduce averages parts on its own stream, after the compute queued before it") {
  std::optional<Nccl> nccl = nccl_or_skip("NcclComm start_reduce");
  if (!nccl) return;
  Backend& backend = *nccl->backend;
  Comm& comm = *nccl->comm;
  const int W = comm.world_size(), rank = comm.rank();
  const double rank_sum = 2.0 * W * (W - 1);  // the sum over ranks r of 4 r
  const int64_t n = 1031;
  // Two groups, as a backward reports them, parts cutting through the shards, one empty; [1000, n)
  // is in no part and must stay as it was.
  const std::vector<std::vector<ShardRange>> groups = {{{600, 1000}, {590, 600}},
                                                       {{0, 1}, {1, 1}, {1, 590}}};
  const ShardRange mine = shard_range(n, W, rank);
  for (DType dtype : {DType::bf16, DType::f32}) {
    for (bool scatter : {false, true}) {
      INFO("dtype " << dtype_name(dtype) << (scatter ? ", scatter" : ", all-reduce"));
      // The values reach `buf` through an op queued on the compute stream just before the
      // reductions start: the second stream must wait for it.
      FlatBuffer source = on_gpu(backend, dtype, n, [&](int64_t i) { return value(rank, i); });
      FlatBuffer buf(backend, dtype, n);
      backend.synchronize();
      backend.convert(buf.tensor, source.tensor);  // same dtype: a copy, on the compute stream
      for (const std::vector<ShardRange>& parts : groups)
        comm.start_reduce(buf.tensor, parts, ReduceOp::average, scatter);
      comm.finish_reductions();
      const std::vector<double> got = tensor_to_host_f64(backend, buf.tensor);
      for (int64_t i = 0; i < n; i++) {
        if (i >= 1000)
          REQUIRE(got[size_t(i)] == value(rank, i));
        else if (!scatter || (i >= mine.begin && i < mine.end))
          REQUIRE(got[size_t(i)] ==
                  doctest::Approx(rank_sum / W + double(i % 16) + 0.5).epsilon(tolerance(dtype)));
      }
    }
  }
  std::vector<float> host(4, 1.0f);
  Tensor host_tensor{host.data(), DType::f32, Device::cpu, Shape{4}};
  CHECK_THROWS_WITH_AS(comm.start_reduce(host_tensor, {{0, 4}}, ReduceOp::sum, false),
                       doctest::Contains("GPU buffer"), Error);
}

TEST_CASE(
    "trainer on one GPU: --comm nccl gives the same bits as SingleComm, with and without ZeRO-1") {
  if (launched_by_mpi()) return;  // one process: the same run through both communicators
  if (skipped("trainer with --comm nccl")) return;
  const fs::path root = fs::temp_directory_path() / "glassbox_test_nccl_train";
  const fs::path data = make_dataset(root);
  struct Run {
    const char* comm;
    const char* overlap;
  };
  // "auto" with one rank is SingleComm; NCCL with the gradients reduced during the backward (on the
  // second stream) and after it
  const std::vector<Run> kinds = {{"auto", "auto"}, {"nccl", "auto"}, {"nccl", "false"}};
  for (int zero_stage : {0, 1}) {
    std::vector<std::vector<nlohmann::json>> runs;
    for (const Run& kind : kinds) {
      // tiny_run's schedule, evaluations and layer statistics (those steps take the all-reduce path
      // even under ZeRO-1), with channels and context wide enough for the kernels' 16-byte packs
      TrainConfig c = train_fixture::tiny_run(
          data, root / ("run_" + std::string(kind.comm) + "_overlap_" + kind.overlap + "_zero" +
                        std::to_string(zero_stage)));
      c.n_embd = 128;
      c.block_size = 32;
      c.bias = false;  // the trainer zeroes the bias gradients after communicating
      c.zero_stage = zero_stage;
      c.device = "cuda";
      c.comm = kind.comm;
      c.overlap_comm = kind.overlap;
      train(c);
      runs.push_back(read_metrics(c.out_dir));
    }
    // With one rank NCCL's sum and average are the identity (an average multiplies by 1/1), so
    // nothing may differ, not even in the last bit.
    const auto& single = runs[0];
    for (size_t k = 1; k < runs.size(); k++) {
      const auto& over_nccl = runs[k];
      REQUIRE(single.size() == over_nccl.size());
      for (size_t i = 0; i < single.size(); i++) {
        INFO("ZeRO stage " << zero_stage << ", overlap " << kinds[k].overlap << ", metrics line "
                           << i << ": " << single[i].dump() << " vs " << over_nccl[i].dump());
        for (const char* key : {"loss", "val_loss", "grad_norm", "layer_grad_norm"})
          if (single[i].contains(key)) CHECK(single[i][key] == over_nccl[i][key]);
      }
    }
  }
}
