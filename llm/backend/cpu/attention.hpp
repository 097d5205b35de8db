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
// Layout: qkv (B, Tlen, QKV) holds q at channels [0, C), then NKV key heads at [C, C + KV) and
// NKV value heads at [C + KV, C + 2 KV), KV = NKV hs; QKV = C + 2 KV. hs = C / NH. Query head h
// reads key/value head h / (NH / NKV): grouped-query attention (Ainslie et al. 2023) shares each
// key/value head among NH / NKV query heads; NKV = NH is ordinary multi-head attention (QKV = 3C),
// NKV = 1 multi-query attention. NKV = 0 (the default) means NH. Tlen is the "T" of the shape
// legend (T names the scalar type here). Each (b, h) is one independent problem: the loops run them
// in parallel, and each does its products as small Eigen GEMMs on strided maps of qkv (no copies).
#include <cstdint>

namespace llm::cpu {

template <typename T>
void attention_forward(T* out,        // (B, Tlen, C)
                       T* att,        // (B, NH, Tlen, Tlen) probabilities P, upper triangle 0
                       const T* qkv,  // (B, Tlen, QKV)
                       int64_t B, int64_t Tlen, int64_t C, int64_t NH, int64_t NKV = 0);

// Backward through y = P v and P = softmax(S):
//   dP  = dy v^T                          dv += P^T dy
//   dS[i,j] = P[i,j] * (dP[i,j] - sum_k P[i,k] dP[i,k])       (the softmax Jacobian, row by row)
//   dq += dS k / sqrt(hs)                 dk += dS^T q / sqrt(hs)
// A shared key/value head gathers dk and dv from every query head of its group.
template <typename T>
void attention_backward(T* dqkv,        // (B, Tlen, QKV)
                        T* datt,        // (B, NH, Tlen, Tlen) scratch: holds dP, then dS
                        const T* dout,  // (B, Tlen, C)
                        const T* qkv,   // (B, Tlen, QKV)
                        const T* att,   // (B, NH, Tlen, Tlen) P from the forward
                        int64_t B, int64_t Tlen, int64_t C, int64_t NH, int64_t NKV = 0);

// Decoding with a KV cache: the Tn new positions pos0 .. pos0+Tn-1 store their keys and values in
// the caches, then query i (absolute position pos0+i) attends to keys 0 .. pos0+i. A prefill is
// pos0 = 0, Tn = prompt length; each generated token is then Tn = 1.
template <typename T> void attention_forward_cached(T* out,        // (B, Tn, C)
                                                    T* k_cache,    // (B, NKV, maxT, hs)
                                                    T* v_cache,    // (B, NKV, maxT, hs)
                                                    const T* qkv,  // (B, Tn, QKV)
                                                    int64_t B, int64_t Tn, int64_t C, int64_t NH,
                                                    int64_t maxT, int64_t pos0, int64_t NKV = 0);

}  // namespace llm::cpu
