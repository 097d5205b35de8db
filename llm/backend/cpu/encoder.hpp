#pragma once
// defines: llm::cpu::encoder_forward, llm::cpu::encoder_backward
//
// The input of GPT-2: each token's embedding plus the embedding of its position.
//   out[b,t,:] = wte[tokens[b,t],:] + wpe[pos0 + t,:]
// A model with rotary positions (rope) has no wpe: wpe and dwpe are null, out is wte's row alone.
// Sizes: B batch, Tlen sequence length (the "T" of the shape legend; T names the scalar type here),
// C channels. pos0 is the position of the first token (0 in training, > 0 when decoding with a
// cache).
#include <cstdint>

namespace llm::cpu {

template <typename T>
void encoder_forward(T* out,                 // (B, Tlen, C)
                     const int32_t* tokens,  // (B, Tlen), each in [0, Vp)
                     const T* wte,           // (Vp, C)
                     const T* wpe,           // (maxT, C), rows pos0 .. pos0+Tlen-1 are read
                     int64_t B, int64_t Tlen, int64_t C, int64_t pos0);

// The gradient of a sum is routed to both terms:
//   dwte[tokens[b,t],:] += dout[b,t,:]      (a token that occurs twice collects both gradients)
//   dwpe[t,:]           += dout[b,t,:]      summed over the batch (training: pos0 = 0)
template <typename T> void encoder_backward(T* dwte,  // (Vp, C)
                                            T* dwpe,  // (maxT, C), rows 0 .. Tlen-1 are written
                                            const T* dout,          // (B, Tlen, C)
                                            const int32_t* tokens,  // (B, Tlen)
                                            int64_t B, int64_t Tlen, int64_t C);

}  // namespace llm::cpu
