// The collectives of llm/dist/comm.hpp on whatever communicator make_comm() gives: SingleComm when
// run as a plain program (ctest entry test_comm), MpiComm under `mpirun -np 2` (ctest entry
// mpi_comm_collectives in tests/distributed.cmake). Every expected value is written for any world.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/dist/comm.hpp"
#include "llm/dist/overlap_timeline.hpp"

using namespace llm;

namespace {

template <typename T> Tensor view(std::vector<T>& v) {
  Tensor t;
  t.data = v.data();
  t.dtype = dtype_of<T>();
  t.device = Device::cpu;
  t.shape = Shape{int64_t(v.size())};
  return t;
}

// Rank r's value for element i: distinct per rank and element, exact in float.
double value(int rank, int64_t i) { return 100.0 * rank + double(i) + 0.5; }

// Sets environment variables for one scope and puts back what was there before (mpirun sets some of
// the launcher variables for this very process).
class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_)
      old ? setenv(name.c_str(), old->c_str(), 1) : unsetenv(name.c_str());
  }
  void set(const std::string& name, const char* value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    value ? setenv(name.c_str(), value, 1) : unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("launch_env: each launcher's variables, in the documented order of precedence") {
  ScopedEnv env;
  for (std::span<const char* const> names :
       {std::span<const char* const>(launch_env_rank_names),
        std::span<const char* const>(launch_env_world_names),
        std::span<const char* const>(launch_env_local_rank_names)})
    for (const char* name : names) env.set(name, nullptr);
  CHECK(launch_env().rank == -1);
  CHECK(launch_env().world == -1);
  CHECK(launch_env().local_rank == -1);

  // MPICH's mpiexec (Hydra)
  env.set("PMI_RANK", "3");
  env.set("PMI_SIZE", "8");
  env.set("MPI_LOCALRANKID", "1");
  CHECK(launch_env().rank == 3);
  CHECK(launch_env().world == 8);
  CHECK(launch_env().local_rank == 1);
  // srun wins over PMI for the rank and the world; MPICH's local rank comes before Slurm's
  env.set("SLURM_PROCID", "4");
  env.set("SLURM_NTASKS", "16");
  env.set("SLURM_LOCALID", "0");
  CHECK(launch_env().rank == 4);
  CHECK(launch_env().world == 16);
  CHECK(launch_env().local_rank == 1);
  // Open MPI's local rank comes before MPICH's
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "2");
  CHECK(launch_env().local_rank == 2);
  // torchrun inside a Slurm task numbers its own processes: it wins over Slurm
  env.set("RANK", "13");
  env.set("WORLD_SIZE", "32");
  env.set("LOCAL_RANK", "5");
  CHECK(launch_env().rank == 13);
  CHECK(launch_env().world == 32);
  CHECK(launch_env().local_rank == 5);
  // and the GLASSBOX_ variables win over every launcher
  env.set("GLASSBOX_RANK", "0");
  env.set("GLASSBOX_WORLD_SIZE", "1");
  env.set("GLASSBOX_LOCAL_RANK", "7");
  CHECK(launch_env().rank == 0);
  CHECK(launch_env().world == 1);
  CHECK(launch_env().local_rank == 7);

  env.set("GLASSBOX_LOCAL_RANK", nullptr);
  env.set("LOCAL_RANK", "-1");
  CHECK_THROWS_WITH_AS(launch_env(), doctest::Contains("LOCAL_RANK='-1' is not a rank number"),
                       Error);
}

TEST_CASE("shard_range cuts n elements into contiguous, nearly equal ranges in rank order") {
  for (int64_t n : {0, 1, 7, 11, 1000003}) {
    for (int world : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int r = 0; r < world; r++) {
        const ShardRange s = shard_range(n, world, r);
        CHECK(s.begin == next);
        CHECK(s.size() >= n / world);
        CHECK(s.size() <= n / world + 1);
        next = s.end;
      }
      CHECK(next == n);
    }
  }
}

TEST_CASE(
    "overlap_timeline: each bucket's reduction starts when it is ready and the network is free") {
  // ready at 1, 3, 6; the first reduction (5 ms) holds the network until 6, so the second waits
  const OverlapTimeline t = overlap_timeline({1, 2, 3}, {5, 1, 1});
  CHECK(t.ready_ms == std::vector<double>{1, 3, 6});
  CHECK(t.start_ms == std::vector<double>{1, 6, 7});
  CHECK(t.end_ms == std::vector<double>{6, 7, 8});
  CHECK(t.backward_ms == 6);
  CHECK(t.finished_ms == 8);
  CHECK(t.exposed_ms() == 2);
  // communication shorter than the compute after it is hidden entirely
  CHECK(overlap_timeline({1, 4, 4}, {3, 3, 0}).exposed_ms() == 0);
  CHECK(overlap_timeline({}, {}).exposed_ms() == 0);
  CHECK_THROWS_WITH_AS(overlap_timeline({1}, {1, 2}),
                       doctest::Contains("1 compute times for 2 buckets"), Error);
}

TEST_CASE("SingleComm: world 1, every collective leaves the buffer as it is") {
  SingleComm comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.world_size() == 1);
  CHECK(comm.is_root());
  std::vector<float> x = {1.5f, -2.0f, 3.25f};
  const std::vector<float> before = x;
  comm.all_reduce(view(x), ReduceOp::sum);
  comm.all_reduce(view(x), ReduceOp::average);
  comm.reduce_scatter(view(x), ReduceOp::average);
  comm.all_gather(view(x));
  comm.broadcast(view(x), 0);
  comm.barrier();
  comm.start_reduce(view(x), {{0, 2}, {2, 3}}, ReduceOp::average, true);
  comm.finish_reductions();
  CHECK(x == before);
  std::vector<float> copy(3);
  comm.gather(view(copy), view(x), 0);
  CHECK(copy == before);
  CHECK(comm.all_reduce(2.5, ReduceOp::sum) == 2.5);
}

TEST_CASE("make_comm: all_reduce, reduce_scatter, all_gather, broadcast over every rank") {
  std::unique_ptr<Comm> comm = make_comm(60);
  const int W = comm->world_size(), rank = comm->rank();
  MESSAGE("communicator " << std::string(comm->name()) << ", rank " << rank << " of " << W);
  REQUIRE(W >= 1);
  REQUIRE(rank < W);
  double rank_sum = 0;  // sum over ranks r of 100 r
  for (int r = 0; r < W; r++) rank_sum += 100.0 * r;

  SUBCASE("all_reduce sum and average, f32 and f64") {
    const int64_t n = 13;
    std::vector<float> f(n);
    std::vector<double> d(n);
    for (int64_t i = 0; i < n; i++)
      f[size_t(i)] = float(value(rank, i)), d[size_t(i)] = value(rank, i);
    comm->all_reduce(view(f), ReduceOp::sum);
    comm->all_reduce(view(d), ReduceOp::average);
    for (int64_t i = 0; i < n; i++) {
      CHECK(f[size_t(i)] == doctest::Approx(rank_sum + W * (double(i) + 0.5)));
      CHECK(d[size_t(i)] == doctest::Approx(rank_sum / W + double(i) + 0.5));
    }
    CHECK(comm->all_reduce(double(rank + 1), ReduceOp::sum) == doctest::Approx(W * (W + 1) / 2.0));
    std::vector<int32_t> ints = {rank, 1};
    comm->all_reduce(view(ints), ReduceOp::sum);
    CHECK(ints[1] == W);
  }

  SUBCASE("reduce_scatter leaves this rank's shard averaged; all_gather puts the shards together") {
    for (int64_t n : {1, 11, 4097}) {  // not multiples of the world size: uneven shards
      std::vector<float> buf(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) buf[size_t(i)] = float(value(rank, i));
      comm->reduce_scatter(view(buf), ReduceOp::average);
      const ShardRange mine = shard_range(n, W, rank);
      for (int64_t i = mine.begin; i < mine.end; i++)
        CHECK(buf[size_t(i)] == doctest::Approx(rank_sum / W + double(i) + 0.5));

      // all_gather: each rank writes a rank-specific value into its own shard only
      for (int64_t i = mine.begin; i < mine.end; i++) buf[size_t(i)] = float(1000 * rank + i);
      comm->all_gather(view(buf));
      for (int r = 0; r < W; r++) {
        const ShardRange s = shard_range(n, W, r);
        for (int64_t i = s.begin; i < s.end; i++) CHECK(buf[size_t(i)] == float(1000 * r + i));
      }
    }
  }

  SUBCASE(
      "start_reduce: parts of a buffer averaged in the background, all-reduced or "
      "reduce-scattered") {
    const int64_t n = 1031;
    // Two groups, as a backward reports them (the last layer first), parts cutting through the
    // shards, one empty; [1000, n) is in no part and must stay as it was.
    const std::vector<std::vector<ShardRange>> groups = {{{600, 1000}, {590, 600}},
                                                         {{0, 1}, {1, 1}, {1, 590}}};
    const ShardRange mine = shard_range(n, W, rank);
    for (bool scatter : {false, true}) {
      INFO((scatter ? "scatter" : "all-reduce"));
      std::vector<float> buf(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) buf[size_t(i)] = float(value(rank, i));
      for (const std::vector<ShardRange>& parts : groups)
        comm->start_reduce(view(buf), parts, ReduceOp::average, scatter);
      comm->finish_reductions();
      for (int64_t i = 0; i < n; i++) {
        if (i >= 1000)
          REQUIRE(buf[size_t(i)] == float(value(rank, i)));
        else if (!scatter || (i >= mine.begin && i < mine.end))
          REQUIRE(buf[size_t(i)] == doctest::Approx(rank_sum / W + double(i) + 0.5));
      }
    }
    // The same as one blocking reduce_scatter of the whole buffer: bit for bit with 2 ranks (a + b
    // is b + a); with more, MPI may add the ranks' terms in another order.
    std::vector<float> parts_way(static_cast<size_t>(n)), whole_way(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++)
      parts_way[size_t(i)] = whole_way[size_t(i)] = float(value(rank, i)) / 3.0f;
    comm->start_reduce(view(parts_way), {{0, 517}, {517, n}}, ReduceOp::average, true);
    comm->finish_reductions();
    comm->reduce_scatter(view(whole_way), ReduceOp::average);
    for (int64_t i = mine.begin; i < mine.end; i++) {
      if (W <= 2)
        REQUIRE(parts_way[size_t(i)] == whole_way[size_t(i)]);
      else
        REQUIRE(parts_way[size_t(i)] == doctest::Approx(whole_way[size_t(i)]));
    }
    if (W > 1) {  // SingleComm checks nothing: it does nothing
      std::vector<int32_t> ints = {1, 2};
      CHECK_THROWS_WITH_AS(comm->start_reduce(view(ints), {{0, 2}}, ReduceOp::average, false),
                           doctest::Contains("floating-point"), Error);
    }
  }

  SUBCASE("gather: every rank's shard into one buffer on the root; the others need none") {
    const int64_t n = 11;
    const int root = W - 1;
    const ShardRange mine = shard_range(n, W, rank);
    std::vector<double> shard(static_cast<size_t>(mine.size()));
    for (int64_t i = 0; i < mine.size(); i++)
      shard[size_t(i)] = double(1000 * rank + mine.begin + i);
    std::vector<double> full(rank == root ? static_cast<size_t>(n) : 0);
    Tensor full_view = view(full);
    full_view.shape = Shape{n};  // off the root: the shape only, no memory
    comm->gather(full_view, view(shard), root);
    if (rank == root) {
      for (int r = 0; r < W; r++) {
        const ShardRange s = shard_range(n, W, r);
        for (int64_t i = s.begin; i < s.end; i++) CHECK(full[size_t(i)] == double(1000 * r + i));
      }
    }
  }

  SUBCASE("broadcast from the last rank, then a barrier") {
    std::vector<double> x = {double(rank), double(rank) * 2};
    comm->broadcast(view(x), W - 1);
    CHECK(x[0] == W - 1);
    CHECK(x[1] == 2.0 * (W - 1));
    comm->barrier();
  }
}
