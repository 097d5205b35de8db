// Fuzz harness for a training checkpoint's train_state.json (read_train_state in
// llm/train/train_checkpoint.cpp): any file must either give a state whose counters are in range
// or throw llm::Error.
#include <cstddef>
#include <cstdint>

#include "llm/core/error.hpp"
#include "llm/train/train_checkpoint.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz_scratch::write_file("train_state.json", data, size);
  try {
    const llm::TrainState s = llm::read_train_state(path.parent_path());
    if (s.step < 0 || s.optimizer_steps < 0 || s.train_loader.epoch < 0 ||
        s.train_loader.shard < 0 || s.train_loader.position < 0)
      __builtin_trap();  // every counter is range-checked
  } catch (const llm::Error&) {
    // refused with a message
  }
  return 0;
}
