#include "llm/train/muon.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "llm/core/error.hpp"

namespace llm {

bool is_muon_matrix(const char* name) {
  return std::strcmp(name, "qkvw") == 0 || std::strcmp(name, "attprojw") == 0 ||
         std::strcmp(name, "fcw") == 0 || std::strcmp(name, "fcprojw") == 0;
}

LearningRateScale adamw_groups_beside_muon(double embedding_lr, double gain_bias_lr) {
  return [=](const char* name) {
    if (is_muon_matrix(name)) return 0.0;
    // The embeddings are the only other matrices (is_decayed: the 2-D tensors).
    return is_decayed(name) ? embedding_lr : gain_bias_lr;
  };
}

Muon::Muon(GPT& model, const MuonConfig& config, int rank, int world_size)
    : model_(model),
      config_(config),
      rank_(rank),
      has_master_(model.backend().dtype() != model.backend().master_dtype()) {
  Backend& backend = model.backend();
  check(config.momentum >= 0 && config.momentum < 1, "Muon: momentum must lie in [0, 1)");
  check(config.ns_steps >= 1, "Muon: ns_steps must be at least 1");
  check(world_size >= 1 && rank >= 0 && rank < world_size, "Muon: rank outside the world");

  model.params.visit([&](const char* name, Tensor& param, Shape shape) {
    if (!is_muon_matrix(name)) return;
    const DType f32 = backend.master_dtype();
    stacked_.push_back(
        {name, shape, param, std::make_unique<FlatBuffer>(backend, f32, shape.numel()),
         has_master_ ? std::make_unique<FlatBuffer>(backend, f32, shape.numel()) : nullptr});
  });

  std::vector<Tensor> params, grads;
  model.params.visit([&](const char* name, Tensor& t, Shape) {
    if (is_muon_matrix(name)) params.push_back(t);
  });
  model.grads.visit([&](const char* name, Tensor& t, Shape) {
    if (is_muon_matrix(name)) grads.push_back(t);
  });
  int k = 0;  // the matrix's index, for the round-robin owner
  for (size_t i = 0; i < stacked_.size(); i++) {
    const Shape& shape = stacked_[i].shape;  // (L, rows, cols)
    const int64_t rows = shape[1], cols = shape[2];
    NewtonSchulz* ns = nullptr;
    Tensor update;
    for (size_t j = 0; j < newton_schulz_.size(); j++) {
      if (newton_schulz_[j]->rows() == rows && newton_schulz_[j]->cols() == cols) {
        ns = newton_schulz_[j].get();
        update = updates_[j]->tensor;
      }
    }
    if (!ns) {
      newton_schulz_.push_back(std::make_unique<NewtonSchulz>(backend, rows, cols));
      updates_.push_back(std::make_unique<FlatBuffer>(backend, backend.dtype(), rows * cols));
      ns = newton_schulz_.back().get();
      update = updates_.back()->tensor;
    }
    const Tensor momentum = stacked_[i].momentum->tensor.reshape(shape);
    const Tensor master = has_master_ ? stacked_[i].master->tensor.reshape(shape) : Tensor{};
    for (int64_t l = 0; l < shape[0]; l++, k++) {
      matrices_.push_back({params[i].slice(l), grads[i].slice(l), momentum.slice(l),
                           has_master_ ? master.slice(l) : Tensor{}, rows, cols, k % world_size, ns,
                           update.reshape({rows, cols})});
    }
  }
  copy_params_to_master();
}

void Muon::copy_params_to_master() {
  for (Stacked& s : stacked_)
    if (s.master) model_.backend().convert(s.master->tensor.reshape(s.shape), s.param);
}

void Muon::step(float lr, float grad_scale) {
  Backend& backend = model_.backend();
  const double mu = config_.momentum, s = grad_scale;
  for (const Matrix& m : matrices_) {
    // buf <- mu buf + (1 - mu) s G   (every rank: the momentum stays the same everywhere)
    backend.scale_add(m.momentum, mu, m.momentum, (1 - mu) * s, m.grad);
    if (m.owner != rank_) continue;
    // U = (1 - mu) s G + mu buf, rounded to the weights' dtype and orthogonalised in place
    backend.scale_add(m.update, (1 - mu) * s, m.grad, mu, m.momentum);
    m.newton_schulz->orthogonalize(m.update, m.update, config_.ns_steps);
    // W <- W - lr_eff O, into the masters where there are any, and W = their rounding
    const double shape_scale = std::sqrt(std::max(1.0, double(m.rows) / double(m.cols)));
    const Tensor weights = has_master_ ? m.master : m.param;
    backend.scale_add(weights, 1.0, weights, -double(lr) * shape_scale, m.update);
    if (has_master_) backend.convert(m.param, m.master);
  }
}

void Muon::share_updates(Comm& comm) {
  if (comm.world_size() == 1) return;
  for (const Matrix& m : matrices_) {
    if (!has_master_) {
      comm.broadcast(m.param, m.owner);
      continue;
    }
    // The f32 masters travel, so every rank keeps them; each rounds them into its weights.
    comm.broadcast(m.master, m.owner);
    if (rank_ != m.owner) model_.backend().convert(m.param, m.master);
  }
}

}  // namespace llm
