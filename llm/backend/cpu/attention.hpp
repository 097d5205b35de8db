#pragma once
// defines: llm::cpu::attention_forward, llm::cpu::attention_backward,
//          llm::cpu::attention_forward_cached
//
// Causal multi-head self-attention (Vaswani et al. 2017), for one head h of one sequence b:
//   q, k, v = the head's hs channels of qkv          (Tlen, hs) each
//   S = q k^T / sqrt(hs)                             (Tlen, Tlen) scores; 1/sqrt(hs) keeps their
//                                                    variance ~1 so the softmax does not saturate
//   P = softmax over each row of S, with S[i,j] = -inf for j > i (a position never sees the future)
//   y = P v                                          (Tlen, hs), written to the head's channels of
//   out
// Layout: qkv (B, Tlen, 3C) holds q at channels [0, C), k at [C, 2C), v at [2C, 3C); head h uses
// channels [h*hs, (h+1)*hs) of each. hs = C / NH. Tlen is the "T" of the shape legend (T names the
// scalar type here). Each (b, h) is one independent problem: the loops run them in parallel, and
// each does its products as small Eigen GEMMs on strided maps of qkv (no copies).
#include <cstdint>

namespace llm::cpu {

template <typename T>
void attention_forward(T* out,        // (B, Tlen, C)
                       T* att,        // (B, NH, Tlen, Tlen) probabilities P, upper triangle 0
                       const T* qkv,  // (B, Tlen, 3C)
                       int64_t B, int64_t Tlen, int64_t C, int64_t NH);

// Backward through y = P v and P = softmax(S):
//   dP  = dy v^T                          dv += P^T dy
//   dS[i,j] = P[i,j] * (dP[i,j] - sum_k P[i,k] dP[i,k])       (the softmax Jacobian, row by row)
//   dq += dS k / sqrt(hs)                 dk += dS^T q / sqrt(hs)
template <typename T>
void attention_backward(T* dqkv,        // (B, Tlen, 3C)
                        T* datt,        // (B, NH, Tlen, Tlen) scratch: holds dP, then dS
                        const T* dout,  // (B, Tlen, C)
                        const T* qkv,   // (B, Tlen, 3C)
                        const T* att,   // (B, NH, Tlen, Tlen) P from the forward
                        int64_t B, int64_t Tlen, int64_t C, int64_t NH);

// Decoding with a KV cache: the Tn new positions pos0 .. pos0+Tn-1 store their keys and values in
// the caches, then query i (absolute position pos0+i) attends to keys 0 .. pos0+i. A prefill is
// pos0 = 0, Tn = prompt length; each generated token is then Tn = 1.
template <typename T> void attention_forward_cached(T* out,        // (B, Tn, C)
                                                    T* k_cache,    // (B, NH, maxT, hs)
                                                    T* v_cache,    // (B, NH, maxT, hs)
                                                    const T* qkv,  // (B, Tn, 3C)
                                                    int64_t B, int64_t Tn, int64_t C, int64_t NH,
                                                    int64_t maxT, int64_t pos0);

}  // namespace llm::cpu
