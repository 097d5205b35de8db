#pragma once
// defines: llm::Muon (momentum orthogonalised by Newton-Schulz, for the hidden weight matrices),
//          llm::is_muon_matrix, llm::MuonConfig
//
// Muon (Jordan et al., 2024, as trained in modded-nanogpt and nanochat) updates each 2-D weight
// matrix W of the transformer blocks with the orthogonalised momentum of its gradient G:
//   buf <- mu buf + (1 - mu) G                    momentum (an exponential average of G)
//   U    = (1 - mu) G + mu buf                    Nesterov: look one momentum step ahead
//   O    = NewtonSchulz(U)                        U with its singular values pushed to ~1
//   W   <- W - lr sqrt(max(1, rows / cols)) O     (llm/train/newton_schulz.hpp)
// Orthogonalising equalises the update's directions: a gradient dominated by a few directions no
// longer moves the weights only along them. The sqrt(rows / cols) factor keeps the per-element
// size of the update comparable for tall matrices (qkvw, fcw), whose orthogonalised rows are
// shorter.
//
// Only the hidden matrices take this update (is_muon_matrix: qkvw, attprojw, fcw, fcprojw, one
// matrix per layer each). The embeddings (wte, which is also the tied output head, and wpe), the
// layernorm gains and every bias stay with AdamW, each group at its own learning rate
// (TrainConfig::optimizer = "muon", llm/train/trainer.cpp).
//
// Data parallel: every rank holds every matrix's momentum (updating it is element-wise and cheap,
// and every rank has the whole averaged gradient), but the Newton-Schulz iteration, the expensive
// part, runs for each matrix on one rank only: matrix k (in visit order, layer by layer within each
// tensor) belongs to rank k % world_size, as modded-nanogpt distributes it. That rank updates the
// matrix, and share_updates() broadcasts it to the others. Given the same averaged gradient, the
// weights come out the same at any world size, bit for bit (tests/test_muon.cpp). The momentum is
// not sharded: ZeRO-1 shards only the AdamW moments, and with Muon the gradients are all-reduced
// rather than reduce-scattered, since each matrix's owner needs the whole of its gradient.
//
// Precision. On the CPU the parameters are their own master weights and every step runs in the
// backend's one dtype. Where the parameters are narrower than master_dtype() (the CUDA backend:
// bf16 weights, f32 masters) Muon keeps, as modded-nanogpt and nanochat do with their f32 weights
// and bf16 Newton-Schulz:
//   buf, and an f32 master copy of every hidden matrix                master_dtype() (f32)
//   U, and the Newton-Schulz iteration on it                          dtype() (bf16)
//   master <- master - lr sqrt(max(1, rows / cols)) O;  W = bf16(master)
// so an update far below bf16's 2^-8 resolution still moves the weights, as with AdamW
// (llm/train/optimizer.hpp). Every rank holds the masters of every matrix, like the momentum;
// share_updates() broadcasts the owner's masters and each rank rounds them into its weights. The
// training checkpoint stores these masters as the hidden matrices' weights
// (llm/train/train_checkpoint.cpp). On the CUDA backend this has run only under the CPU emulation
// of CUDA (tests/ops/cuda_backend.cpp, label cuda_emulated), never on a GPU.
#include <cstdint>
#include <memory>
#include <vector>

#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/newton_schulz.hpp"
#include "llm/train/optimizer.hpp"

namespace llm {

// The hidden weight matrices Muon updates: qkvw, attprojw, fcw, fcprojw.
bool is_muon_matrix(const char* parameter_name);

// AdamW's learning rate per tensor beside Muon: 0 for the hidden matrices (Muon's),
// embedding_lr for wte (the tied head) and wpe, gain_bias_lr for the layernorm gains and the
// biases. Given to AdamW with step(lr = 1) these are the rates themselves; with step(lr = f) they
// are scaled by the schedule's factor f.
LearningRateScale adamw_groups_beside_muon(double embedding_lr, double gain_bias_lr);

struct MuonConfig {
  float momentum = 0.95f;  // mu
  int ns_steps = 5;        // Newton-Schulz iterations
};

class Muon {
 public:
  // Momentum for every hidden matrix; this rank orthogonalises and updates matrix k when
  // k % world_size == rank.
  Muon(GPT& model, const MuonConfig& config, int rank = 0, int world_size = 1);

  // One update at learning rate lr; grad_scale multiplies the gradients first (global-norm
  // clipping). Updates the momentum of every matrix and the weights of this rank's matrices.
  void step(float lr, float grad_scale);
  // Every matrix's new weights from the rank that updated it to all ranks (nothing on one rank).
  void share_updates(Comm& comm);

  // The momentum of each hidden tensor, whole (L, rows, cols), in visit order with its name.
  template <typename Fn> void visit_momentum(Fn&& fn) {
    for (Stacked& s : stacked_) fn(s.name, s.momentum->tensor.reshape(s.shape));
  }

  // Whether Muon keeps master weights of its own (the parameters are narrower than
  // master_dtype()); false on the CPU.
  bool has_master() const { return has_master_; }
  // The f32 master weights of each hidden tensor, whole (L, rows, cols), in visit order with its
  // name; nothing without has_master().
  template <typename Fn> void visit_master(Fn&& fn) {
    for (Stacked& s : stacked_)
      if (s.master) fn(s.name, s.master->tensor.reshape(s.shape));
  }
  // Sets the masters from the parameters (the constructor does so once): after the weights were
  // initialised or loaded as bf16. A training checkpoint restores the f32 masters themselves.
  void copy_params_to_master();

 private:
  // One stacked tensor (e.g. qkvw (L, 3C, C)), its momentum and its masters, same shape.
  struct Stacked {
    const char* name;
    Shape shape;
    Tensor param;                          // (L, rows, cols)
    std::unique_ptr<FlatBuffer> momentum;  // (L * rows * cols), zeroed at the start
    std::unique_ptr<FlatBuffer> master;    // (L * rows * cols), only with has_master()
  };
  // One matrix: layer l of a stacked tensor.
  struct Matrix {
    Tensor param, grad, momentum;  // (rows, cols) views
    Tensor master;                 // (rows, cols) view, empty without has_master()
    int64_t rows, cols;
    int owner;                    // the rank that orthogonalises and updates it
    NewtonSchulz* newton_schulz;  // scratch of its shape
    Tensor update;                // (rows, cols) scratch of its shape: U, then O
  };

  GPT& model_;
  MuonConfig config_;
  int rank_;
  bool has_master_;
  std::vector<Stacked> stacked_;
  std::vector<Matrix> matrices_;
  // One iteration's scratch and one update buffer per distinct (rows, cols).
  std::vector<std::unique_ptr<NewtonSchulz>> newton_schulz_;
  std::vector<std::unique_ptr<FlatBuffer>> updates_;
};

}  // namespace llm
