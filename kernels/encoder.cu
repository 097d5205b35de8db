// CudaBackend::encoder_forward, encoder_backward: token + position embedding, GPT-2's input.
// CPU twin: llm/backend/cpu/encoder.cpp (the math is in llm/backend/cpu/encoder.hpp).
//
//   forward:  out[b,t,:] = wte[tokens[b,t],:] + wpe[pos0 + t,:]
//   backward: dwpe[t,:] += sum_b dout[b,t,:]
//             dwte[v,:] += sum of dout[b,t,:] over every (b, t) with tokens[b,t] == v
// A model without learned positions (rope, Llama) passes an empty wpe and dwpe: then the forward is
// the token embedding alone and the backward leaves out the dwpe kernel.
//
// Forward: one thread per pack of W channels of one (b, t) row: a gather of two rows and an add.
//
// Backward, deterministic (no float atomics, every sum in a fixed order), all sums in f32 and each
// gradient element read, added to and rounded back to bf16 once:
// - dwpe: one thread per (t, pack of W channels) sums the B rows dout[0..B-1, t] in order.
// - dwte is a scatter-add: a common token (" the") can occur thousands of times in a batch. The
//   B*T token ids are sorted together with their flattened positions b*T + t (a stable radix sort,
//   cub::DeviceRadixSort::SortPairs, so equal tokens stay in position order). Each run of equal
//   tokens in the sorted list is then one token's set of positions; one block per run start (and
//   per range of channels) sums that run's dout rows in sorted order and adds the sum into the
//   token's dwte row, which no other block touches. The blocks at the other sorted indices leave at
//   once. The sort's buffers and CUB's temporary storage live in encoder_scratch_.
//
// Rows are moved in packs of W = 8 bf16 (one 16-byte load) when C % 8 == 0 and the pointers are
// 16-byte aligned, else W = 1 (views into a packed arena may start at any even address).
// Token ids stay on the GPU: the model checks their range on the host before copying them, and
// reading them back here would stall the stream. So that a bad id can never read or write outside
// wte, the forward writes NaN for it and the backward skips it.
#include <cub/device/device_radix_sort.cuh>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::aligned_16;
using cuda::bf16;
using cuda::load_f32;
using cuda::store_bf16;

constexpr int kThreads = 128;       // per block
constexpr int kPackWidth = 8;       // bf16 per 16-byte pack
constexpr size_t kAlignment = 256;  // of each buffer carved from encoder_scratch_ (as cudaMalloc's)

// Thread i: pack c = (i % packs_per_row) * W of row bt = i / packs_per_row, position t = bt % T.
template <int W> __global__ void encoder_forward_kernel(bf16* out,              // (B*T, C)
                                                        const int32_t* tokens,  // (B*T)
                                                        const bf16* wte,        // (Vp, C)
                                                        const bf16* wpe,        // (maxT, C) or null
                                                        int64_t BT, int T, int C, int Vp,
                                                        int pos0) {
  const int packs_per_row = C / W;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= BT * packs_per_row) return;
  const int64_t bt = i / packs_per_row;
  const int c = int(i % packs_per_row) * W;
  const int t = int(bt % T);
  const int token = tokens[bt];
  float sum[W];
  if (0 <= token && token < Vp) {
    float embedding[W], position[W] = {};
    load_f32(embedding, wte + int64_t(token) * C + c);
    if (wpe) load_f32(position, wpe + int64_t(pos0 + t) * C + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum[k] = embedding[k] + position[k];
  } else {
#pragma unroll
    for (int k = 0; k < W; k++) sum[k] = NAN;
  }
  store_bf16(out + bt * C + c, sum);
}

// Thread i: pack c = (i % packs_per_row) * W of position t = i / packs_per_row.
template <int W> __global__ void wpe_backward_kernel(bf16* dwpe,        // (maxT, C), rows 0 .. T-1
                                                     const bf16* dout,  // (B, T, C)
                                                     int B, int T, int C) {
  const int packs_per_row = C / W;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(T) * packs_per_row) return;
  const int t = int(i / packs_per_row);
  const int c = int(i % packs_per_row) * W;
  float sum[W] = {};
  for (int b = 0; b < B; b++) {
    float d[W];
    load_f32(d, dout + (int64_t(b) * T + t) * C + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum[k] += d[k];
  }
  float grad[W];
  load_f32(grad, dwpe + int64_t(t) * C + c);
#pragma unroll
  for (int k = 0; k < W; k++) grad[k] += sum[k];
  store_bf16(dwpe + int64_t(t) * C + c, grad);
}

// positions[i] = i: the values sorted along with the token ids.
__global__ void iota_kernel(int32_t* positions, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) positions[i] = i;
}

// Block (first, y): sorted index `first`, channels [blockIdx.y * blockDim.x * W, ...) with one pack
// of W per thread. Only a block whose index starts a run of equal tokens does any work.
template <int W> __global__ void wte_backward_kernel(bf16* dwte,                       // (Vp, C)
                                                     const bf16* dout,                 // (B*T, C)
                                                     const int32_t* sorted_tokens,     // (B*T)
                                                     const int32_t* sorted_positions,  // (B*T)
                                                     int BT, int C, int Vp) {
  const int first = blockIdx.x;
  const int token = sorted_tokens[first];
  if (first > 0 && sorted_tokens[first - 1] == token) return;  // inside a run, not its start
  if (token < 0 || token >= Vp) return;                        // a bad id: never write outside dwte
  const int c = (blockIdx.y * blockDim.x + threadIdx.x) * W;
  if (c >= C) return;

  int end = first + 1;  // one past the run
  while (end < BT && sorted_tokens[end] == token) end++;
  // The run's positions ascend (the sort is stable), so this sums in position order, as the CPU.
  float sum[W] = {};
  for (int j = first; j < end; j++) {
    float d[W];
    load_f32(d, dout + int64_t(sorted_positions[j]) * C + c);
#pragma unroll
    for (int k = 0; k < W; k++) sum[k] += d[k];
  }
  float grad[W];
  load_f32(grad, dwte + int64_t(token) * C + c);
#pragma unroll
  for (int k = 0; k < W; k++) grad[k] += sum[k];
  store_bf16(dwte + int64_t(token) * C + c, grad);
}

template <int W> void launch_encoder_forward(cudaStream_t stream, bf16* out, const int32_t* tokens,
                                             const bf16* wte, const bf16* wpe, int64_t BT, int T,
                                             int C, int Vp, int pos0) {
  const unsigned blocks = unsigned(cuda::ceil_div(BT * (C / W), kThreads));
  cuda::launch(encoder_forward_kernel<W>, blocks, kThreads, 0, stream, out, tokens, wte, wpe, BT, T,
               C, Vp, pos0);
  cuda::check_launch();
}

template <int W> void launch_encoder_backward(cudaStream_t stream, DeviceBuffer& scratch,
                                              bf16* dwte, bf16* dwpe, const bf16* dout,
                                              const int32_t* tokens, int B, int T, int C, int Vp) {
  const int BT = B * T;
  const int packs_per_row = C / W;
  if (dwpe) {  // null without learned positions
    cuda::launch(wpe_backward_kernel<W>,
                 unsigned(cuda::ceil_div(int64_t(T) * packs_per_row, kThreads)), kThreads, 0,
                 stream, dwpe, dout, B, T, C);
    cuda::check_launch();
  }

  // Scratch: positions, sorted token ids, sorted positions (BT int32 each), then CUB's temporary
  // storage, each starting on a kAlignment boundary.
  const size_t index_bytes = cuda::ceil_div(int64_t(BT) * sizeof(int32_t), kAlignment) * kAlignment;
  size_t sort_bytes = 0;  // CUB's temporary storage: asked for by passing no storage
  cuda::cuda_check(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_bytes, tokens, static_cast<int32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), BT, 0, 32, stream));
  char* base = static_cast<char*>(scratch.get(3 * index_bytes + sort_bytes));
  int32_t* positions = reinterpret_cast<int32_t*>(base);
  int32_t* sorted_tokens = reinterpret_cast<int32_t*>(base + index_bytes);
  int32_t* sorted_positions = reinterpret_cast<int32_t*>(base + 2 * index_bytes);
  void* sort_storage = base + 3 * index_bytes;

  cuda::launch(iota_kernel, unsigned(cuda::ceil_div(BT, kThreads)), kThreads, 0, stream, positions,
               BT);
  cuda::check_launch();
  // All 32 bits of the key, though valid ids need fewer: then every id's positions form exactly one
  // run even if a bad id (negative or >= Vp) slipped through, so no two blocks write one dwte row.
  cuda::cuda_check(cub::DeviceRadixSort::SortPairs(sort_storage, sort_bytes, tokens, sorted_tokens,
                                                   positions, sorted_positions, BT, 0, 32, stream));
  const dim3 grid(unsigned(BT), unsigned(cuda::ceil_div(packs_per_row, kThreads)));
  cuda::launch(wte_backward_kernel<W>, grid, kThreads, 0, stream, dwte, dout, sorted_tokens,
               sorted_positions, BT, C, Vp);
  cuda::check_launch();
}

}  // namespace

void CudaBackend::encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) {
  check_encoder_forward(*this, out, tokens, wte, wpe, pos0);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = wte.size(0), C = wte.size(1);
  // (Token ids are not range-checked here: see the header comment.)
  if (B * Tlen == 0) return;

  bf16* out_data = cuda::device_data<bf16>(out);
  const int32_t* token_data = cuda::device_data<int32_t>(tokens);
  const bf16* wte_data = cuda::device_data<bf16>(wte);
  const bf16* wpe_data = wpe.empty() ? nullptr : cuda::device_data<bf16>(wpe);
  if (C % kPackWidth == 0 && aligned_16({out_data, wte_data, wpe_data})) {
    launch_encoder_forward<kPackWidth>(stream_, out_data, token_data, wte_data, wpe_data, B * Tlen,
                                       int(Tlen), int(C), int(Vp), pos0);
  } else {
    launch_encoder_forward<1>(stream_, out_data, token_data, wte_data, wpe_data, B * Tlen,
                              int(Tlen), int(C), int(Vp), pos0);
  }
}

void CudaBackend::encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
  check_encoder_backward(*this, dwte, dwpe, dout, tokens);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = dwte.size(0), C = dwte.size(1);
  // One block per sorted token (grid.x) and int32 positions: B*T must fit in an int.
  check(B * Tlen <= INT32_MAX, "encoder_backward: B*T = " + std::to_string(B * Tlen) +
                                   " tokens, more than the 2^31 - 1 this kernel indexes");
  // (Token ids are not range-checked here: see the header comment.)
  if (B * Tlen == 0) return;

  bf16* dwte_data = cuda::device_data<bf16>(dwte);
  bf16* dwpe_data = dwpe.empty() ? nullptr : cuda::device_data<bf16>(dwpe);
  const bf16* dout_data = cuda::device_data<bf16>(dout);
  const int32_t* token_data = cuda::device_data<int32_t>(tokens);
  if (C % kPackWidth == 0 && aligned_16({dwte_data, dwpe_data, dout_data})) {
    launch_encoder_backward<kPackWidth>(stream_, encoder_scratch_, dwte_data, dwpe_data, dout_data,
                                        token_data, int(B), int(Tlen), int(C), int(Vp));
  } else {
    launch_encoder_backward<1>(stream_, encoder_scratch_, dwte_data, dwpe_data, dout_data,
                               token_data, int(B), int(Tlen), int(C), int(Vp));
  }
}

}  // namespace llm
