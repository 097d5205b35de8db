#pragma once
// defines: llm::AdamW (moments for every parameter, or for one rank's shard of them under ZeRO-1;
//          one update step), llm::global_grad_norm, and flat views of parameter-shaped arenas
//          (flat_view, flat_range, range_within, parameter_views, FlatBuffer).
//
// Flat layout: ParameterTensors::visit lists the tensors in memory order and an Arena carves them
// back to back, so the parameters (and the gradients, and the moments) are also ONE flat vector of
// parameter_arena_size(config) elements. ZeRO-1 cuts that vector into one contiguous range per rank
// (shard_range in llm/dist/comm.hpp), ignoring tensor boundaries; AdamW then splits its range at
// the tensor boundaries again, because weight decay is per tensor (is_decayed: matrices only).
// Master weights: on the CPU the parameters are their own master weights. When the backend keeps
// parameters in a narrower dtype than its master_dtype() (bf16 weights, f32 masters on a GPU),
// AdamW holds an f32 copy of its shard next to the moments, updates that, and writes the rounded
// bf16 weights from it; under ZeRO-1 the bf16 weights are then all-gathered. Small updates would
// vanish if applied to bf16 weights directly (a 1e-4 relative step is below bf16's 2^-8
// resolution).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "llm/core/arena.hpp"
#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to matrices only, see is_decayed()
};

// ---- flat views ----
// Elements of a parameter-shaped arena (the padded vocabulary rows of wte included).
int64_t parameter_arena_size(const GPTConfig& config);
// All of `tensors` (carved by an Arena in visit() order) as one flat tensor (parameter_arena_size).
Tensor flat_view(ParameterTensors& tensors);
// Elements [begin, end) of a flat tensor.
Tensor flat_range(Tensor flat, int64_t begin, int64_t end);
// The inverse: where `view` (e.g. grads.qkvw.slice(l)) lies inside `flat`.
ShardRange range_within(Tensor flat, const Tensor& view);
// Named views over a flat buffer laid out in visit() order: the inverse of flat_view.
ParameterTensors parameter_views(Tensor flat, const GPTConfig& config);
// One flat tensor of n elements in its own (zeroed) backend memory.
struct FlatBuffer {
  FlatBuffer(Backend& backend, DType dtype, int64_t n);
  Arena memory;
  Tensor tensor;  // (n)
};

// sqrt(sum over every gradient element of g^2), accumulated in double.
double global_grad_norm(GPT& model);

// Each parameter tensor's learning rate as a multiple of the lr given to AdamW::step, by name. 0
// leaves the tensor to another optimizer: AdamW neither reads nor writes it (with Muon,
// llm/train/muon.hpp, the hidden matrices). Empty: 1 for every tensor.
using LearningRateScale = std::function<double(const char* parameter_name)>;

class AdamW {
 public:
  // Moments for every parameter: plain AdamW.
  AdamW(GPT& model, const AdamWConfig& config);
  // ZeRO-1: moments for the flat parameter range `shard` only, and step() updates only that range
  // (reading the gradient there). {0, parameter_arena_size} is the same as the plain constructor.
  AdamW(GPT& model, const AdamWConfig& config, ShardRange shard,
        const LearningRateScale& lr_scale = {});

  // One update of the parameters in the shard with learning rate lr (times each tensor's
  // LearningRateScale); grad_scale multiplies the
  // gradients first (e.g. clip / norm for global-norm clipping). Increments the step count.
  void step(float lr, float grad_scale);

  ShardRange shard() const { return shard_; }
  bool holds_everything() const {
    return shard_.begin == 0 && shard_.end == parameter_arena_size(model_.config());
  }
  // First and second moments of the shard, flat (shard.size()), in the backend's master dtype.
  Tensor m() const { return m_.tensor; }
  Tensor v() const { return v_.tensor; }
  // The f32 master weights of the shard (flat, shard.size()), or an empty tensor when the
  // parameters are their own masters (CPU).
  Tensor master() const { return master_ ? master_->tensor : Tensor{}; }
  // Sets the master weights from the parameters, after the parameters were initialised or loaded
  // from a file (a training checkpoint restores the f32 masters themselves instead).
  void copy_params_to_master();

  int64_t steps_taken() const { return steps_taken_; }
  void set_steps_taken(int64_t n) { steps_taken_ = n; }

 private:
  // One row per parameter tensor that overlaps the shard: the flat pieces of it inside the shard
  // that an update reads and writes (the whole tensor without ZeRO), and whether it decays.
  struct Slot {
    Tensor param, grad, m, v, master;  // master empty on the CPU
    bool decayed;
    double lr_scale;
  };

  GPT& model_;
  AdamWConfig config_;
  ShardRange shard_;
  FlatBuffer m_, v_;
  std::optional<FlatBuffer> master_;
  std::vector<Slot> slots_;
  int64_t steps_taken_ = 0;
};

}  // namespace llm
