#include "llm/train/evaluate.hpp"

#include <algorithm>
#include <vector>

#include "llm/data/shard.hpp"

namespace llm {

EvalResult evaluate_loss(GPT& model, DataLoader& loader, int64_t batches) {
  SingleComm single;
  return evaluate_loss(model, loader, batches, single);
}

EvalResult evaluate_loss(GPT& model, DataLoader& loader, int64_t batches, Comm& comm) {
  const int B = loader.B(), T = loader.T();
  // One pass reads each shard's tokens in whole batches of B*T (+1 for the last target).
  int64_t batches_in_pass = 0;
  for (const auto& shard : loader.shards())
    batches_in_pass += (read_shard_header(shard).num_tokens - 1) / loader.batch_tokens();
  batches_in_pass = std::max<int64_t>(1, batches_in_pass);
  if (batches <= 0 || batches > batches_in_pass) batches = batches_in_pass;

  loader.reset();
  std::vector<int32_t> inputs(size_t(B) * T), targets(size_t(B) * T);
  double sum = 0;
  for (int64_t i = 0; i < batches; i++) {
    loader.next_batch(inputs.data(), targets.data());  // every rank walks the batches, ...
    if (i % comm.world_size() == comm.rank())          // ... and runs its share of them
      sum += model.forward(inputs.data(), targets.data(), B, T);
  }
  sum = comm.all_reduce(sum, ReduceOp::sum);
  return {sum / double(batches), batches, batches * B * T};
}

}  // namespace llm
