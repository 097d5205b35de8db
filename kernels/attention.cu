// CudaBackend::attention_forward, attention_backward, attention_forward_cached: causal multi-head
// self-attention as a flash-style kernel on CUDA cores. No T x T matrix is ever stored: scores are
// made tile by tile in registers and thrown away, and the backward makes them again.
// CPU twin: llm/backend/cpu/attention.cpp (it keeps the probabilities; this file keeps only the
// log-sum-exp of each query row, so the saved state is (B, NH, T) instead of (B, NH, T, T)).
//
// For one head and one query row i (q, k, v are that head's rows, hs channels each):
//   s_ij = q_i . k_j / sqrt(hs)  for keys j <= i (causal),   P_ij = exp(s_ij - lse_i),
//   lse_i = log sum_j exp(s_ij),   out_i = sum_j P_ij v_j.
//
// Forward, the online softmax. The keys arrive in tiles; for its query row i a thread keeps the
// largest score seen so far m, the running sum l = sum_seen exp(s_ij - m) and the running output
// acc = sum_seen exp(s_ij - m) v_j, all in f32. A new tile may raise the maximum to
// m' = max(m, max_tile s_ij). Since exp(s - m') = exp(s - m) exp(m - m'), one multiplication by
// exp(m - m') (<= 1) re-measures everything summed so far against the new maximum:
//   l   <- l   * exp(m - m') + sum_tile exp(s_ij - m')
//   acc <- acc * exp(m - m') + sum_tile exp(s_ij - m') v_j
// (On the first tile m = -inf and exp(m - m') = 0.) Subtracting the running maximum keeps every
// exp() <= 1, so nothing overflows. After the last tile: out_i = acc / l and lse_i = m + log l.
//
// Backward (the FlashAttention-2 recipe). With dP_ij = dout_i . v_j and the softmax's Jacobian,
//   dS_ij = P_ij (dP_ij - D_i),   D_i = sum_j P_ij dP_ij = dout_i . out_i   (a single dot product),
//   dq_i = scale sum_j dS_ij k_j,   dk_j = scale sum_i dS_ij q_i,   dv_j = sum_i P_ij dout_i,
// with scale = 1/sqrt(hs) and P recomputed from q, k and the saved lse. Three kernels, each output
// element written by exactly one thread, so the result is deterministic without atomics:
//   1. delta:  D_i for every row, into `scratch` (B, NH, T);
//   2. dq:     a thread group per query row loops over the key tiles at or before it;
//   3. dk, dv: a thread group per key row loops over the query tiles at or after it.
// Every gradient is accumulated: read dqkv (bf16), add the f32 result, write once. D is computed
// from the forward's bf16 output, as in FlashAttention; that rounding is the main difference from
// the CPU twin's gradients (a few 1e-3 of the largest gradient).
//
// Threads and rows. A block handles kRowsPerBlock rows (queries, or keys for dk/dv) of one
// (batch, head) and stages the other side's rows in shared memory, kTile at a time, widened to f32.
// A row's vectors (q, acc, ...) live in registers: f32 arrays sized from the head size HS, a
// template parameter, and indexed only by unrolled loops with constant indices (an array indexed
// at run time would be moved to slow local memory).
// A thread holds at most 32 channels of a row, so a row of 64 channels is shared by 2 threads and
// a row of 128 by 4 ("lanes" of the row, neighbours in the warp), which keeps the register count
// low enough not to spill; the lanes add their partial dot products with warp shuffles. Lane l
// owns the 8-channel chunks l, l + lanes, l + 2 lanes, ... (interleaved rather than contiguous, so
// at each step the lanes of a row read neighbouring chunks of a staged row: different shared-memory
// banks, no conflicts). Rows and keys past T are masked: staged as zeros, never written.
//
// Grouped-query attention (GQA; multi-query, MQA, when NKV = 1). A qkv row (width
// QKV = (NH + 2 NKV) hs) holds q's NH heads, then k's NKV heads, then v's NKV heads, as the CPU's;
// query head h reads key/value head h / G, G = NH / NKV queries per group (NKV = NH: ordinary
// multi-head attention, QKV = 3C). The forward and dq kernels only index k and v through that
// map. The dk/dv kernel runs per key/value head: a key row's gradient is the sum over the G query
// heads of its group, so its thread group walks the G heads one after the other (in head order,
// deterministic) and writes once.
//
// Shapes: any B, NH and T >= 1, NKV dividing NH; head sizes hs = C / NH of 8, 16, 32, 64 or 128
// (the kernels are instantiated for those; any other throws "<op>: head size N is not supported
// (supported: ...)"). bf16 tensors must start on a 16-byte boundary (all loads and stores move 8
// bf16 at once).
//
// Cached decoding (attention_forward_cached): one kernel appends the new keys and values to the
// caches (B, NKV, maxT, hs), a second one (queued after it on the same stream, so it sees them)
// runs a warp per new query: each lane scores one key of a 32-key tile, the warp does the online
// softmax on the tile, then the lanes split the channels to accumulate p_j v_j.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"
#include "llm/backend/expect.hpp"

namespace llm {
namespace {

using cuda::bf16;
using cuda::kWarpSize;

constexpr int kRowsPerBlock = 64;        // query rows (forward, dq) or key rows (dk, dv) per block
constexpr int kTile = 32;                // rows of the other side staged in shared memory at a time
constexpr int kChunk = 8;                // channels per 16-byte load or store of bf16
constexpr int kMaxChannelsPerLane = 32;  // a wider row is shared by several threads ("lanes")

// How one row of a head (HS channels) is shared by its lanes (see the header comment).
template <int HS> struct RowSplit {
  static_assert(HS % kChunk == 0, "head sizes are whole 16-byte chunks");
  static constexpr int kLanes = HS > kMaxChannelsPerLane ? HS / kMaxChannelsPerLane : 1;
  static constexpr int kChannels = HS / kLanes;            // channels per lane
  static constexpr int kChunks = kChannels / kChunk;       // chunks per lane
  static constexpr int kThreads = kRowsPerBlock * kLanes;  // per block
  // The first channel of the lane's c-th chunk.
  __device__ static int channel(int lane, int c) { return (c * kLanes + lane) * kChunk; }
};

// Eight bf16, moved as one 16-byte load or store (the address must be 16-byte aligned: the host
// checks the base pointers, and heads and rows start at multiples of 8 elements).
using Bf16x8 = cuda::Pack<bf16, kChunk>;

// dst[0, 8) = src[0, 8) widened to f32.
__device__ void load_chunk(float* dst, const bf16* src) {
  const Bf16x8 chunk = *reinterpret_cast<const Bf16x8*>(src);
#pragma unroll
  for (int e = 0; e < kChunk; e++) dst[e] = __bfloat162float(chunk.values[e]);
}

// dst[0, 8) = src[0, 8) * factor, rounded to bf16 (to nearest even).
__device__ void store_chunk(bf16* dst, const float* src, float factor) {
  Bf16x8 chunk;
#pragma unroll
  for (int e = 0; e < kChunk; e++) chunk.values[e] = __float2bfloat16(src[e] * factor);
  *reinterpret_cast<Bf16x8*>(dst) = chunk;
}

// dst[0, 8) += src[0, 8) * factor: read the bf16, add in f32, round and write once.
__device__ void add_chunk(bf16* dst, const float* src, float factor) {
  float sum[kChunk];
  load_chunk(sum, dst);
#pragma unroll
  for (int e = 0; e < kChunk; e++) sum[e] += src[e] * factor;
  store_chunk(dst, sum, 1.0f);
}

// ---- a row's lane-owned channels: loads, stores, and arithmetic against staged rows ----

template <int HS> using LaneRow = float[RowSplit<HS>::kChannels];

// The lane's channels of `row` (one head's HS channels in global memory).
template <int HS> __device__ void load_row(LaneRow<HS>& dst, const bf16* row, int lane) {
#pragma unroll
  for (int c = 0; c < RowSplit<HS>::kChunks; c++)
    load_chunk(&dst[c * kChunk], row + RowSplit<HS>::channel(lane, c));
}

// row = src * factor on the lane's channels.
template <int HS>
__device__ void store_row(bf16* row, const LaneRow<HS>& src, float factor, int lane) {
#pragma unroll
  for (int c = 0; c < RowSplit<HS>::kChunks; c++)
    store_chunk(row + RowSplit<HS>::channel(lane, c), &src[c * kChunk], factor);
}

// row += src * factor on the lane's channels.
template <int HS>
__device__ void add_row(bf16* row, const LaneRow<HS>& src, float factor, int lane) {
#pragma unroll
  for (int c = 0; c < RowSplit<HS>::kChunks; c++)
    add_chunk(row + RowSplit<HS>::channel(lane, c), &src[c * kChunk], factor);
}

// This lane's share of the dot product of a register row with a row staged in shared memory.
template <int HS>
__device__ float lane_dot(const LaneRow<HS>& mine, const float* staged, int lane) {
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < RowSplit<HS>::kChunks; c++) {
    const float* chunk = staged + RowSplit<HS>::channel(lane, c);
#pragma unroll
    for (int e = 0; e < kChunk; e++) sum += mine[c * kChunk + e] * chunk[e];
  }
  return sum;
}

// mine += factor * staged, on the lane's channels.
template <int HS>
__device__ void lane_axpy(LaneRow<HS>& mine, float factor, const float* staged, int lane) {
#pragma unroll
  for (int c = 0; c < RowSplit<HS>::kChunks; c++) {
    const float* chunk = staged + RowSplit<HS>::channel(lane, c);
#pragma unroll
    for (int e = 0; e < kChunk; e++) mine[c * kChunk + e] += factor * chunk[e];
  }
}

// The sum of the lanes' partials of one row, in every lane of the row. A butterfly: at each step
// two partners add the same two numbers (a + b and b + a are the same float), so all lanes of a
// row end with identical bits. The lanes of a row are neighbours, so offsets < kLanes stay inside
// the row; every thread of the warp must call this (no divergence around it).
template <int kLanes> __device__ float row_sum(float partial) {
#pragma unroll
  for (int offset = kLanes / 2; offset > 0; offset /= 2)
    partial += __shfl_xor_sync(0xffffffffu, partial, offset);
  return partial;
}

// Copies rows [first, first + kTile) of one head into shared memory as f32: tile row r is
// head[(first + r) * stride, + HS). Rows at or past n_rows are zero-filled, so a masked key or
// query contributes 0 * 0, never stale shared memory (which might hold an inf or NaN, and
// 0 * NaN = NaN). The caller synchronizes before and after.
template <int HS> __device__ void stage_rows(float (*tile)[HS], const bf16* head, int64_t stride,
                                             int first, int n_rows) {
  constexpr int kChunksPerRow = HS / kChunk;
  for (int i = threadIdx.x; i < kTile * kChunksPerRow; i += blockDim.x) {
    const int r = i / kChunksPerRow, channel = i % kChunksPerRow * kChunk;
    float* dst = &tile[r][channel];
    if (first + r < n_rows) {
      load_chunk(dst, head + int64_t(first + r) * stride + channel);
    } else {
#pragma unroll
      for (int e = 0; e < kChunk; e++) dst[e] = 0.0f;
    }
  }
}

// Copies entries [first, first + kTile) of a per-row f32 vector (lse or D) into shared memory,
// zeros past n_rows.
__device__ void stage_values(float* tile, const float* values, int first, int n_rows) {
  for (int r = threadIdx.x; r < kTile; r += blockDim.x)
    tile[r] = first + r < n_rows ? values[first + r] : 0.0f;
}

// ---- forward ----

// Where query head h of batch row b finds its q, k and v heads in qkv (B, T, QKV): each pointer is
// that head's channels in row t = 0; rows are QKV apart.
struct HeadPointers {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  int64_t stride;  // QKV, the distance between rows
};

__device__ HeadPointers head_pointers(const bf16* qkv, int b, int h, int T, int NH, int NKV,
                                      int HS) {
  const int64_t C = int64_t(NH) * HS, KVC = int64_t(NKV) * HS, QKV = C + 2 * KVC;
  const int kv_head = h / (NH / NKV);  // the key/value head of h's group
  const bf16* row0 = qkv + int64_t(b) * T * QKV;
  return {row0 + int64_t(h) * HS, row0 + C + int64_t(kv_head) * HS,
          row0 + C + KVC + int64_t(kv_head) * HS, QKV};
}

// out (B, T, C), lse (B, NH, T), qkv (B, T, QKV). Grid (ceil(T / kRowsPerBlock), NH, B).
template <int HS> __global__ void __launch_bounds__(RowSplit<HS>::kThreads)
    attention_forward_kernel(bf16* out, float* lse, const bf16* qkv, int T, int NH, int NKV) {
  using Split = RowSplit<HS>;
  __shared__ __align__(16) float k_tile[kTile][HS];
  __shared__ __align__(16) float v_tile[kTile][HS];

  const int64_t C = int64_t(NH) * HS;
  const int b = blockIdx.z, h = blockIdx.y;
  // The last query tiles see the most keys: launch them first so that the long blocks do not
  // start at the very end and leave the GPU waiting on a few stragglers.
  const int first_query = int(gridDim.x - 1 - blockIdx.x) * kRowsPerBlock;
  const int query = first_query + threadIdx.x / Split::kLanes;
  const int lane = threadIdx.x % Split::kLanes;
  const bool is_row = query < T;  // the last block's rows past T compute along but write nothing
  const float scale = 1.0f / sqrtf(float(HS));
  const HeadPointers head = head_pointers(qkv, b, h, T, NH, NKV, HS);

  LaneRow<HS> q = {};
  if (is_row) load_row<HS>(q, head.q + query * head.stride, lane);
  LaneRow<HS> acc = {};
  float running_max = -INFINITY, running_sum = 0.0f;

  // Causal: the block's last query sees keys 0 .. last_query, so that is where the tiles stop.
  const int last_query = min(T, first_query + kRowsPerBlock) - 1;
  for (int first_key = 0; first_key <= last_query; first_key += kTile) {
    __syncthreads();  // every thread is done with the previous tile
    stage_rows<HS>(k_tile, head.k, head.stride, first_key, T);
    stage_rows<HS>(v_tile, head.v, head.stride, first_key, T);
    __syncthreads();

    // The scores of this tile; keys after the query (including keys past T) are masked to -inf.
    float score[kTile];
    float tile_max = -INFINITY;
#pragma unroll
    for (int j = 0; j < kTile; j++) {
      const float dot = row_sum<Split::kLanes>(lane_dot<HS>(q, k_tile[j], lane));
      score[j] = first_key + j <= query ? dot * scale : -INFINITY;
      tile_max = fmaxf(tile_max, score[j]);
    }
    // Finite: key 0 is in the first tile and visible to every query, so running_max is finite
    // from the first tile on (and no exp(-inf - -inf) = NaN can happen).
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = expf(running_max - new_max);  // 0 on the first tile
    running_sum *= correction;
#pragma unroll
    for (int c = 0; c < Split::kChannels; c++) acc[c] *= correction;
#pragma unroll
    for (int j = 0; j < kTile; j++) {
      const float p = expf(score[j] - new_max);  // exp(-inf) = 0 for masked keys
      running_sum += p;
      lane_axpy<HS>(acc, p, v_tile[j], lane);
    }
    running_max = new_max;
  }

  if (is_row) {
    store_row<HS>(out + (int64_t(b) * T + query) * C + h * HS, acc, 1.0f / running_sum, lane);
    if (lane == 0) lse[(int64_t(b) * NH + h) * T + query] = running_max + logf(running_sum);
  }
}

// ---- backward ----

// delta (B, NH, T) = rowsum(dout * out) per head; dout, out (B, T, C). A thread per row.
__global__ void attention_delta_kernel(float* delta, const bf16* dout, const bf16* out, int T,
                                       int NH, int hs, int64_t n_rows) {
  const int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, h, t) flattened
  if (row >= n_rows) return;
  const int t = int(row % T);
  const int64_t bh = row / T, b = bh / NH, h = bh % NH;
  const int64_t offset = (b * T + t) * NH * hs + h * hs;
  float sum = 0.0f;
  for (int c = 0; c < hs; c += kChunk) {
    float d[kChunk], o[kChunk];
    load_chunk(d, dout + offset + c);
    load_chunk(o, out + offset + c);
#pragma unroll
    for (int e = 0; e < kChunk; e++) sum += d[e] * o[e];
  }
  delta[row] = sum;
}

// dq += scale sum_j dS_ij k_j for every query row i. Grid (ceil(T / kRowsPerBlock), NH, B).
template <int HS> __global__ void __launch_bounds__(RowSplit<HS>::kThreads)
    attention_backward_dq_kernel(bf16* dqkv, const bf16* dout, const bf16* qkv, const float* lse,
                                 const float* delta, int T, int NH, int NKV) {
  using Split = RowSplit<HS>;
  __shared__ __align__(16) float k_tile[kTile][HS];
  __shared__ __align__(16) float v_tile[kTile][HS];

  const int64_t C = int64_t(NH) * HS;
  const int b = blockIdx.z, h = blockIdx.y;
  const int first_query = int(gridDim.x - 1 - blockIdx.x) * kRowsPerBlock;  // longest first
  const int query = first_query + threadIdx.x / Split::kLanes;
  const int lane = threadIdx.x % Split::kLanes;
  const bool is_row = query < T;
  const float scale = 1.0f / sqrtf(float(HS));

  const HeadPointers head = head_pointers(qkv, b, h, T, NH, NKV, HS);
  const int64_t q_offset = head.q - qkv + query * head.stride;  // this query's head in (d)qkv

  LaneRow<HS> q = {}, dy = {};  // q_i and dout_i
  float row_lse = 0.0f, row_delta = 0.0f;
  if (is_row) {
    load_row<HS>(q, qkv + q_offset, lane);
    load_row<HS>(dy, dout + (int64_t(b) * T + query) * C + h * HS, lane);
    row_lse = lse[(int64_t(b) * NH + h) * T + query];
    row_delta = delta[(int64_t(b) * NH + h) * T + query];
  }
  LaneRow<HS> dq = {};

  const int last_query = min(T, first_query + kRowsPerBlock) - 1;
  for (int first_key = 0; first_key <= last_query; first_key += kTile) {
    __syncthreads();
    stage_rows<HS>(k_tile, head.k, head.stride, first_key, T);
    stage_rows<HS>(v_tile, head.v, head.stride, first_key, T);
    __syncthreads();
    for (int j = 0; j < kTile; j++) {
      const float s = row_sum<Split::kLanes>(lane_dot<HS>(q, k_tile[j], lane)) * scale;
      const float dp = row_sum<Split::kLanes>(lane_dot<HS>(dy, v_tile[j], lane));
      // Masked: keys after the query (including keys past T), and rows past T.
      const float p = is_row && first_key + j <= query ? expf(s - row_lse) : 0.0f;
      lane_axpy<HS>(dq, p * (dp - row_delta), k_tile[j], lane);  // dS_ij k_j
    }
  }
  if (is_row) add_row<HS>(dqkv + q_offset, dq, scale, lane);
}

// dk += scale sum_i dS_ij q_i and dv += sum_i P_ij dout_i for every key row j, the sums over the
// queries i of every query head of the key's group. Grid (ceil(T / kRowsPerBlock), NKV, B).
template <int HS> __global__ void __launch_bounds__(RowSplit<HS>::kThreads)
    attention_backward_dkdv_kernel(bf16* dqkv, const bf16* dout, const bf16* qkv, const float* lse,
                                   const float* delta, int T, int NH, int NKV) {
  using Split = RowSplit<HS>;
  __shared__ __align__(16) float q_tile[kTile][HS];
  __shared__ __align__(16) float dy_tile[kTile][HS];  // dout rows
  __shared__ float lse_tile[kTile];
  __shared__ float delta_tile[kTile];

  const int64_t C = int64_t(NH) * HS;
  const int b = blockIdx.z, kv_head = blockIdx.y, group = NH / NKV;
  // The first key tiles are seen by the most queries, and blockIdx.x = 0 is launched first.
  const int first_key = int(blockIdx.x) * kRowsPerBlock;
  const int key = first_key + threadIdx.x / Split::kLanes;
  const int lane = threadIdx.x % Split::kLanes;
  const bool is_row = key < T;
  const float scale = 1.0f / sqrtf(float(HS));

  // The group's first query head reads this key/value head: its k and v pointers are this head's.
  const HeadPointers kv = head_pointers(qkv, b, kv_head * group, T, NH, NKV, HS);
  const int64_t k_offset = kv.k - qkv + key * kv.stride;  // this key's k head in (d)qkv
  const int64_t v_offset = kv.v - qkv + key * kv.stride;

  LaneRow<HS> k = {}, v = {};
  if (is_row) {
    load_row<HS>(k, qkv + k_offset, lane);
    load_row<HS>(v, qkv + v_offset, lane);
  }
  LaneRow<HS> dk = {}, dv = {};

  for (int h = kv_head * group; h < (kv_head + 1) * group; h++) {
    const bf16* q_head = head_pointers(qkv, b, h, T, NH, NKV, HS).q;
    const bf16* dy_head = dout + int64_t(b) * T * C + h * HS;
    const float* lse_head = lse + (int64_t(b) * NH + h) * T;
    const float* delta_head = delta + (int64_t(b) * NH + h) * T;
    // Causal: queries before the block's first key see none of its keys.
    for (int first_query = first_key; first_query < T; first_query += kTile) {
      __syncthreads();
      stage_rows<HS>(q_tile, q_head, kv.stride, first_query, T);
      stage_rows<HS>(dy_tile, dy_head, C, first_query, T);
      stage_values(lse_tile, lse_head, first_query, T);
      stage_values(delta_tile, delta_head, first_query, T);
      __syncthreads();
      for (int i = 0; i < kTile; i++) {
        const int query = first_query + i;
        const float s = row_sum<Split::kLanes>(lane_dot<HS>(k, q_tile[i], lane)) * scale;
        const float dp = row_sum<Split::kLanes>(lane_dot<HS>(v, dy_tile[i], lane));
        // Masked: queries before this key, and queries past T (which also covers keys past T).
        const float p = key <= query && query < T ? expf(s - lse_tile[i]) : 0.0f;
        lane_axpy<HS>(dv, p, dy_tile[i], lane);                        // P_ij dout_i
        lane_axpy<HS>(dk, p * (dp - delta_tile[i]), q_tile[i], lane);  // dS_ij q_i
      }
    }
  }
  if (is_row) {
    add_row<HS>(dqkv + k_offset, dk, scale, lane);
    add_row<HS>(dqkv + v_offset, dv, 1.0f, lane);
  }
}

// ---- cached decoding ----

// Appends the keys and values of positions pos0 .. pos0+Tn-1 to the caches. qkv (B, Tn, QKV);
// k_cache, v_cache (B, NKV, maxT, hs). A thread per 8-channel chunk of a k row (and its v twin).
__global__ void kv_cache_append_kernel(bf16* k_cache, bf16* v_cache, const bf16* qkv, int Tn,
                                       int NH, int NKV, int hs, int maxT, int pos0,
                                       int64_t n_chunks) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_chunks) return;
  const int64_t C = int64_t(NH) * hs, KVC = int64_t(NKV) * hs, QKV = C + 2 * KVC;
  const int64_t chunks_per_row = KVC / kChunk;
  const int64_t row = i / chunks_per_row;               // b Tn + t
  const int64_t channel = i % chunks_per_row * kChunk;  // in [0, KVC): k head channel / hs
  const int64_t b = row / Tn, t = row % Tn, kv_head = channel / hs;
  const bf16* k = qkv + row * QKV + C + channel;
  const int64_t slot = ((b * NKV + kv_head) * maxT + pos0 + t) * hs + channel % hs;
  *reinterpret_cast<Bf16x8*>(k_cache + slot) = *reinterpret_cast<const Bf16x8*>(k);
  *reinterpret_cast<Bf16x8*>(v_cache + slot) = *reinterpret_cast<const Bf16x8*>(k + KVC);
}

// out (B, Tn, C): new query t (position pos0 + t) of head h attends to the cached keys
// 0 .. pos0 + t of key/value head h / (NH / NKV). A warp per (b, h, t); blocks of kDecodeWarps
// warps.
constexpr int kDecodeWarps = 4;

template <int HS> __global__ void attention_cached_kernel(bf16* out, const bf16* k_cache,
                                                          const bf16* v_cache, const bf16* qkv,
                                                          int Tn, int NH, int NKV, int maxT,
                                                          int pos0, int64_t n_queries) {
  // In the accumulation the lanes split the channels: lane l owns channels l, l + 32, ...
  constexpr int kChannelsPerLane = (HS + kWarpSize - 1) / kWarpSize;
  const int64_t warp = int64_t(blockIdx.x) * kDecodeWarps + threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  if (warp >= n_queries) return;  // the whole warp leaves together: no shuffle is left waiting
  const int t = int(warp % Tn);
  const int64_t bh = warp / Tn, b = bh / NH, h = bh % NH;
  const int64_t C = int64_t(NH) * HS, QKV = C + 2 * int64_t(NKV) * HS;
  const int64_t kv_head = h / (NH / NKV);
  const int position = pos0 + t;
  const float scale = 1.0f / sqrtf(float(HS));

  // Every lane holds the whole query (same addresses for all lanes: one broadcast load).
  float q[HS];
  const bf16* q_row = qkv + (b * Tn + t) * QKV + h * HS;
#pragma unroll
  for (int c = 0; c < HS; c += kChunk) load_chunk(&q[c], q_row + c);
  const bf16* k_rows = k_cache + (b * NKV + kv_head) * maxT * HS;
  const bf16* v_rows = v_cache + (b * NKV + kv_head) * maxT * HS;

  float acc[kChannelsPerLane] = {};
  float running_max = -INFINITY, running_sum = 0.0f;
  for (int first_key = 0; first_key <= position; first_key += kWarpSize) {
    // Lane l scores key first_key + l; keys after the query are masked (and never read: cache
    // rows past this call's positions hold whatever an earlier sequence left there).
    const int key = first_key + lane;
    float score = -INFINITY;
    if (key <= position) {
      float dot = 0.0f;
#pragma unroll
      for (int c = 0; c < HS; c += kChunk) {
        float k[kChunk];
        load_chunk(k, k_rows + int64_t(key) * HS + c);
#pragma unroll
        for (int e = 0; e < kChunk; e++) dot += q[c + e] * k[e];
      }
      score = dot * scale;
    }
    // The online softmax of the header comment, on a tile of 32 keys; lane 0's key is always
    // visible, so new_max is finite.
    const float new_max = fmaxf(running_max, cuda::warp_max(score));
    const float correction = expf(running_max - new_max);
    const float p = expf(score - new_max);
    running_sum = running_sum * correction + cuda::warp_sum(p);
#pragma unroll
    for (int e = 0; e < kChannelsPerLane; e++) acc[e] *= correction;
    const int visible = min(kWarpSize, position - first_key + 1);  // the same in every lane
    for (int j = 0; j < visible; j++) {
      const float p_j = __shfl_sync(0xffffffffu, p, j);  // key first_key + j's weight
      const bf16* v = v_rows + int64_t(first_key + j) * HS;
#pragma unroll
      for (int e = 0; e < kChannelsPerLane; e++) {
        const int c = lane + e * kWarpSize;
        if (c < HS) acc[e] += p_j * __bfloat162float(v[c]);
      }
    }
    running_max = new_max;
  }

  bf16* out_row = out + (b * Tn + t) * C + h * HS;
#pragma unroll
  for (int e = 0; e < kChannelsPerLane; e++) {
    const int c = lane + e * kWarpSize;
    if (c < HS) out_row[c] = __float2bfloat16(acc[e] / running_sum);
  }
}

// ---- host side ----

// Calls launch(std::integral_constant<int, HS>{}) with the head size as a compile-time constant;
// the kernels are instantiated for these head sizes only.
template <typename Launch> void dispatch_head_size(const char* op, int64_t hs, Launch&& launch) {
  switch (hs) {
    case 8: launch(std::integral_constant<int, 8>{}); return;
    case 16: launch(std::integral_constant<int, 16>{}); return;
    case 32: launch(std::integral_constant<int, 32>{}); return;
    case 64: launch(std::integral_constant<int, 64>{}); return;
    case 128: launch(std::integral_constant<int, 128>{}); return;
    default:
      throw Error(std::string(op) + ": head size " + std::to_string(hs) +
                  " is not supported (supported: 8, 16, 32, 64, 128)");
  }
}

// The kernels move bf16 in 16-byte chunks; heads and rows start at multiples of 8 elements, so
// only the base pointers need the alignment (cudaMalloc and the Arena give 256 bytes).
void expect_aligned_16(const char* op, const char* name, const Tensor& t) {
  check(reinterpret_cast<uintptr_t>(t.data) % 16 == 0,
        std::string(op) + ": " + name + " is not 16-byte aligned");
}

// NKV, the key/value heads of qkv (B, T, (NH + 2 NKV) hs) with hs = C / NH; the op's check has
// made sure the width is whole heads and NKV divides NH.
int kv_heads(const Tensor& qkv, int64_t C, int NH) {
  const int64_t hs = C / NH;
  return int((qkv.size(2) - C) / (2 * hs));
}

}  // namespace

Shape CudaBackend::attention_state_shape(int B, int T, int NH) const { return Shape{B, NH, T}; }

void CudaBackend::attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) {
  const char* op = "attention_forward";
  check_attention_forward(*this, out, state, qkv, NH);
  const int64_t B = qkv.size(0), T = qkv.size(1), C = out.size(2);
  const int NKV = kv_heads(qkv, C, NH);
  expect_aligned_16(op, "out", out);
  expect_aligned_16(op, "qkv", qkv);
  dispatch_head_size(op, C / NH, [&](auto head_size) {
    constexpr int HS = decltype(head_size)::value;
    if (B * T == 0) return;
    const dim3 grid(unsigned(cuda::ceil_div(T, kRowsPerBlock)), unsigned(NH), unsigned(B));
    cuda::launch(attention_forward_kernel<HS>, grid, RowSplit<HS>::kThreads, 0, stream_,
                 cuda::device_data<bf16>(out), cuda::device_data<float>(state),
                 cuda::device_data<bf16>(qkv), int(T), NH, NKV);
    cuda::check_launch();
  });
}

void CudaBackend::attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv,
                                     Tensor out, Tensor state, int NH) {
  const char* op = "attention_backward";
  check_attention_backward(*this, dqkv, scratch, dout, qkv, out, state, NH);
  const int64_t B = qkv.size(0), T = qkv.size(1), C = dout.size(2);
  const int NKV = kv_heads(qkv, C, NH);
  // The flash backward reads the forward's output (for rowsum(dout * out)), so it is checked here.
  expect_tensor(op, "out", out, DType::bf16, Device::cuda);
  expect_rows_cols(op, "out", out, B * T, C);
  for (auto [name, t] : {std::pair{"dqkv", dqkv}, {"dout", dout}, {"qkv", qkv}, {"out", out}})
    expect_aligned_16(op, name, t);
  const int64_t hs = C / NH;
  dispatch_head_size(op, hs, [&](auto head_size) {
    constexpr int HS = decltype(head_size)::value;
    const int64_t n_rows = B * NH * T;
    if (n_rows == 0) return;
    bf16* dqkv_data = cuda::device_data<bf16>(dqkv);
    const bf16* dout_data = cuda::device_data<bf16>(dout);
    const bf16* qkv_data = cuda::device_data<bf16>(qkv);
    const float* lse = cuda::device_data<float>(state);
    float* delta = cuda::device_data<float>(scratch);

    constexpr int kDeltaThreads = 256;
    cuda::launch(attention_delta_kernel, unsigned(cuda::ceil_div(n_rows, kDeltaThreads)),
                 kDeltaThreads, 0, stream_, delta, dout_data, cuda::device_data<bf16>(out), int(T),
                 NH, HS, n_rows);
    cuda::check_launch();
    // dq and dk, dv write disjoint parts of dqkv; both only read delta, written just above.
    // dq: a block column per query head; dk, dv: one per key/value head.
    const unsigned row_blocks = unsigned(cuda::ceil_div(T, kRowsPerBlock));
    cuda::launch(attention_backward_dq_kernel<HS>, dim3(row_blocks, unsigned(NH), unsigned(B)),
                 RowSplit<HS>::kThreads, 0, stream_, dqkv_data, dout_data, qkv_data, lse, delta,
                 int(T), NH, NKV);
    cuda::check_launch();
    cuda::launch(attention_backward_dkdv_kernel<HS>, dim3(row_blocks, unsigned(NKV), unsigned(B)),
                 RowSplit<HS>::kThreads, 0, stream_, dqkv_data, dout_data, qkv_data, lse, delta,
                 int(T), NH, NKV);
    cuda::check_launch();
  });
}

void CudaBackend::attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache, Tensor qkv,
                                           int NH, int pos0) {
  const char* op = "attention_forward_cached";
  check_attention_forward_cached(*this, out, k_cache, v_cache, qkv, NH, pos0);
  const int64_t B = qkv.size(0), Tn = qkv.size(1), C = out.size(2);
  const int NKV = kv_heads(qkv, C, NH);
  const int64_t hs = C / NH, maxT = k_cache.size(2);
  for (auto [name, t] :
       {std::pair{"out", out}, {"k_cache", k_cache}, {"v_cache", v_cache}, {"qkv", qkv}})
    expect_aligned_16(op, name, t);
  dispatch_head_size(op, hs, [&](auto head_size) {
    constexpr int HS = decltype(head_size)::value;
    if (B * Tn == 0) return;
    bf16* k_data = cuda::device_data<bf16>(k_cache);
    bf16* v_data = cuda::device_data<bf16>(v_cache);
    const bf16* qkv_data = cuda::device_data<bf16>(qkv);

    // 1. append the new keys and values
    constexpr int kAppendThreads = 256;
    const int64_t n_chunks = B * Tn * NKV * HS / kChunk;
    cuda::launch(kv_cache_append_kernel, unsigned(cuda::ceil_div(n_chunks, kAppendThreads)),
                 kAppendThreads, 0, stream_, k_data, v_data, qkv_data, int(Tn), NH, NKV, HS,
                 int(maxT), pos0, n_chunks);
    cuda::check_launch();
    // 2. attend; queued after the append on the same stream, so it reads this call's keys too
    const int64_t n_queries = B * NH * Tn;
    cuda::launch(attention_cached_kernel<HS>, unsigned(cuda::ceil_div(n_queries, kDecodeWarps)),
                 kDecodeWarps * kWarpSize, 0, stream_, cuda::device_data<bf16>(out), k_data, v_data,
                 qkv_data, int(Tn), NH, NKV, int(maxT), pos0, n_queries);
    cuda::check_launch();
  });
}

}  // namespace llm
