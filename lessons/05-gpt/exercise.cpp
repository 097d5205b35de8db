// Lesson 05: the transformer block and the GPT. Write the bodies below; `scripts/lesson 05` tells
// you what is wrong. You have written every op by now (lessons 03, 04); here use the library's
// versions, llm::cpu::*_forward / *_backward<double> (llm/backend/cpu/*.hpp: outputs, then inputs,
// then sizes; every backward ADDS into its gradients), and compose them. Scratch buffers:
// std::vector<double>.
#include "lesson.hpp"

#include <vector>

#include "llm/backend/cpu/attention.hpp"
#include "llm/backend/cpu/classifier.hpp"
#include "llm/backend/cpu/encoder.hpp"
#include "llm/backend/cpu/gelu.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"
#include "llm/backend/cpu/residual.hpp"

namespace lesson05 {

void block_forward(BlockActs& a, const double* x, const Block& w, int64_t B, int64_t T, int64_t C,
                   int64_t NH) {
  // TODO: the ten ops of lesson.hpp, in order, each writing its field of a (N = B T rows).
}

void block_backward(double* dx, Block& g, const double* dout, const double* x, const BlockActs& a,
                    const Block& w, int64_t B, int64_t T, int64_t C, int64_t NH) {
  // TODO: the same ops in reverse. Allocate zeroed gradient buffers for the activations
  // (dresidual2, dfcproj, ...). Where two paths meet (x feeds ln1 AND the residual), both backwards
  // add into the same buffer: that is why backwards accumulate.
}

double gpt_forward(GptActs& acts, const Gpt& params, const int32_t* tokens, const int32_t* targets,
                   int64_t B, int64_t T) {
  // TODO: encoder, L blocks (block l reads block l-1's residual3), final layernorm, logits with the
  // tied head (wte, no bias, Vp columns), then the losses: classifier_forward with dloss = 0 on a
  // COPY of the logits. Return their mean.
  return 0.0;
}

void gpt_backward(Gpt& grads, GptActs& acts, const Gpt& params, const int32_t* tokens,
                  const int32_t* targets, int64_t B, int64_t T) {
  // TODO: dlogits from classifier_forward on a copy of acts.logits with dloss = 1 / (B T); back
  // through the head (into grads.wte: the embedding gets gradient from both ends), lnf, the blocks
  // from last to first, and the encoder.
}

}  // namespace lesson05
