#include "llm/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "llm/core/error.hpp"

namespace llm {

int64_t parameter_arena_size(const GPTConfig& config) {
  ParameterTensors views;
  views.config = config;
  int64_t n = 0;
  views.visit([&](const char*, Tensor&, Shape shape) { n += shape.numel(); });
  return n;
}

Tensor flat_view(ParameterTensors& tensors) {
  Tensor flat = tensors.wte;  // the first tensor of visit(): the start of the arena
  flat.shape = Shape{parameter_arena_size(tensors.config)};
  // The views must be back to back, as Arena::carve makes them.
  const char* expected = static_cast<const char*>(flat.data);
  tensors.visit([&](const char* name, Tensor& t, Shape) {
    check(t.data == expected,
          std::string("flat_view: tensor ") + name + " is not where the flat layout puts it");
    expected += t.nbytes();
  });
  return flat;
}

Tensor flat_range(Tensor flat, int64_t begin, int64_t end) {
  check(0 <= begin && begin <= end && end <= flat.numel(),
        "flat_range: [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the " +
            std::to_string(flat.numel()) + " elements");
  Tensor t = flat;
  t.data = static_cast<char*>(flat.data) + size_t(begin) * dtype_size(flat.dtype);
  t.shape = Shape{end - begin};
  return t;
}

ShardRange range_within(Tensor flat, const Tensor& view) {
  const char* start = static_cast<const char*>(flat.data);
  const char* at = static_cast<const char*>(view.data);
  const size_t elem = dtype_size(flat.dtype);
  check(view.dtype == flat.dtype && at >= start && at + view.nbytes() <= start + flat.nbytes() &&
            size_t(at - start) % elem == 0,
        "range_within: the view is not inside the flat buffer");
  const int64_t begin = int64_t(size_t(at - start) / elem);
  return {begin, begin + view.numel()};
}

ParameterTensors parameter_views(Tensor flat, const GPTConfig& config) {
  ParameterTensors views;
  views.config = config;
  check(flat.numel() == parameter_arena_size(config),
        "parameter_views: the buffer has " + std::to_string(flat.numel()) +
            " elements, the model " + std::to_string(parameter_arena_size(config)));
  int64_t offset = 0;
  views.visit([&](const char*, Tensor& t, Shape shape) {
    t = flat_range(flat, offset, offset + shape.numel()).reshape(shape);
    offset += shape.numel();
  });
  return views;
}

namespace {
// The smallest "views" struct an Arena can carve: one flat tensor.
struct OneFlatTensor {
  Tensor* tensor;
  int64_t n;
  template <typename Fn> void visit(Fn&& fn) { fn("flat", *tensor, Shape{n}); }
};
}  // namespace

FlatBuffer::FlatBuffer(Backend& backend, DType dtype, int64_t n) {
  OneFlatTensor one{&tensor, n};
  memory.carve(backend, dtype, one);
}

double global_grad_norm(GPT& model) {
  // One reduction over the whole flat gradient arena: on a GPU one kernel pair and one wait for
  // the result, instead of one per tensor.
  return std::sqrt(model.backend().sum_of_squares(flat_view(model.grads)));
}

AdamW::AdamW(GPT& model, const AdamWConfig& config)
    : AdamW(model, config, ShardRange{0, parameter_arena_size(model.config())}) {}

AdamW::AdamW(GPT& model, const AdamWConfig& config, ShardRange shard,
             const LearningRateScale& lr_scale)
    : model_(model),
      config_(config),
      shard_(shard),
      m_(model.backend(), model.backend().master_dtype(), shard.size()),
      v_(model.backend(), model.backend().master_dtype(), shard.size()) {
  const int64_t N = parameter_arena_size(model.config());
  check(0 <= shard.begin && shard.begin <= shard.end && shard.end <= N,
        "AdamW: the shard is outside the parameters");
  Backend& backend = model.backend();
  if (backend.master_dtype() != backend.dtype()) {
    master_.emplace(backend, backend.master_dtype(), shard.size());
    copy_params_to_master();
  }
  const Tensor params = flat_view(model.params), grads = flat_view(model.grads);
  const Tensor master = this->master();
  // Walk the tensors in flat order and keep each one's overlap [begin, end) with the shard.
  int64_t offset = 0;
  model.params.visit([&](const char* name, Tensor&, Shape shape) {
    const int64_t begin = std::max(offset, shard.begin),
                  end = std::min(offset + shape.numel(), shard.end);
    const double scale = lr_scale ? lr_scale(name) : 1.0;
    if (begin < end && scale != 0.0) {
      slots_.push_back(
          {flat_range(params, begin, end), flat_range(grads, begin, end),
           flat_range(m_.tensor, begin - shard.begin, end - shard.begin),
           flat_range(v_.tensor, begin - shard.begin, end - shard.begin),
           master.empty() ? Tensor{} : flat_range(master, begin - shard.begin, end - shard.begin),
           is_decayed(name), scale});
    }
    offset += shape.numel();
  });
}

void AdamW::step(float lr, float grad_scale) {
  steps_taken_++;
  for (const Slot& slot : slots_) {
    AdamWSettings settings;
    settings.learning_rate = double(lr) * slot.lr_scale;
    settings.beta1 = config_.beta1;
    settings.beta2 = config_.beta2;
    settings.eps = config_.eps;
    settings.weight_decay = slot.decayed ? config_.weight_decay : 0.0f;
    settings.step = steps_taken_;
    model_.backend().adamw_update(slot.param, slot.grad, slot.m, slot.v, slot.master, settings,
                                  grad_scale);
  }
}

void AdamW::copy_params_to_master() {
  if (!master_) return;
  model_.backend().convert(master_->tensor,
                           flat_range(flat_view(model_.params), shard_.begin, shard_.end));
}

}  // namespace llm
