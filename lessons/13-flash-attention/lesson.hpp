#pragma once
// Lesson 13: the causal flash-attention forward. The function you write in exercise.cu, with the
// kernel it launches. Shapes: B batch, NH heads, T positions, hs channels per head. q, k, v and out
// are (B, NH, T, hs) row-major float: head (b, h)'s rows are contiguous, row t at
// ((b NH + h) T + t) hs. Every pointer is DEVICE memory.

namespace lesson13 {

// A block handles kQueryRows consecutive query rows of one (b, h), one thread per row, and stages
// the keys and values kKeyTile rows at a time in shared memory.
constexpr int kQueryRows = 32;
constexpr int kKeyTile = 32;
constexpr int kMaxHeadSize = 64;  // a row's q and running output live in registers: bounded

// For each (b, h) and query row i, over the keys j <= i (causal):
//   s_ij = q_i . k_j / sqrt(hs),   lse_i = log sum_{j <= i} exp(s_ij),
//   out_i = sum_{j <= i} exp(s_ij - lse_i) v_j
// computed tile by tile with the online softmax, never storing a T x T matrix. lse (B, NH, T) is
// saved for the backward. Grid (ceil(T / kQueryRows), B NH), kQueryRows threads per block.
// Throws std::invalid_argument for hs outside [1, kMaxHeadSize].
void flash_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                             int B, int NH, int T, int hs);

}  // namespace lesson13
