// CudaBackend::swiglu_forward, swiglu_backward: the gated MLP activation of Llama (Shazeer 2020).
// CPU twin: llm/backend/cpu/swiglu.cpp.
//
// A row of inp (N, 2H) holds the gate g in [0, H) and the up projection u in [H, 2H):
//   forward:  out = silu(g) * u,   silu(g) = g * sigmoid(g) = g / (1 + exp(-g))
//   backward, with s = sigmoid(g) and silu'(g) = s (1 + g (1 - s)):
//             dg += dout * u * s (1 + g (1 - s)),   du += dout * g * s
//
// Element-wise over the (N, H) outputs, in f32: each bf16 input is widened once and each result
// rounded back to bf16 once. One thread per pack of W consecutive outputs of one row: W = 8 (one
// 16-byte load or store per tensor) when H % 8 == 0 and every pointer is 16-byte aligned, so a pack
// never straddles two rows; W = 1 otherwise.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::bf16;
using cuda::load_f32;
using cuda::store_bf16;

constexpr int kPackWidth = 8;  // bf16 per 16-byte pack
constexpr int kThreads = 256;  // per block

__device__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

// Thread i: outputs [i W, i W + W) of the flattened (N, H) out, all in row n = i W / H.
template <int W> __global__ void swiglu_forward_kernel(bf16* out,        // (N, H)
                                                       const bf16* inp,  // (N, 2H)
                                                       int64_t N, int64_t H) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i >= N * H) return;
  const int64_t n = i / H, h = i % H;
  const bf16* gate = inp + n * 2 * H + h;
  float g[W], u[W], y[W];
  load_f32(g, gate);
  load_f32(u, gate + H);
#pragma unroll
  for (int k = 0; k < W; k++) y[k] = g[k] * sigmoid(g[k]) * u[k];
  store_bf16(out + i, y);
}

template <int W> __global__ void swiglu_backward_kernel(bf16* dinp,        // (N, 2H)
                                                        const bf16* inp,   // (N, 2H)
                                                        const bf16* dout,  // (N, H)
                                                        int64_t N, int64_t H) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i >= N * H) return;
  const int64_t n = i / H, h = i % H;
  const int64_t gate = n * 2 * H + h;  // the gate's index in inp and dinp; up is H later
  float g[W], u[W], dy[W], dg[W], du[W];
  load_f32(g, inp + gate);
  load_f32(u, inp + gate + H);
  load_f32(dy, dout + i);
  load_f32(dg, dinp + gate);
  load_f32(du, dinp + gate + H);
#pragma unroll
  for (int k = 0; k < W; k++) {
    const float s = sigmoid(g[k]);
    dg[k] += dy[k] * u[k] * s * (1.0f + g[k] * (1.0f - s));
    du[k] += dy[k] * g[k] * s;
  }
  store_bf16(dinp + gate, dg);
  store_bf16(dinp + gate + H, du);
}

// Calls launch(W) with the pack width the shapes and pointers allow.
template <typename Launch>
void with_pack_width(int64_t H, std::initializer_list<const void*> pointers, Launch&& launch) {
  if (H % kPackWidth == 0 && cuda::aligned_16(pointers)) {
    launch(std::integral_constant<int, kPackWidth>{});
  } else {
    launch(std::integral_constant<int, 1>{});
  }
}

}  // namespace

void CudaBackend::swiglu_forward(Tensor out, Tensor inp) {
  check_swiglu_forward(*this, out, inp);
  const int64_t N = out.rows(), H = out.last_dim();
  if (N * H == 0) return;
  bf16* out_data = cuda::device_data<bf16>(out);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  with_pack_width(H, {out_data, inp_data}, [&](auto width) {
    constexpr int W = decltype(width)::value;
    cuda::launch(swiglu_forward_kernel<W>, cuda::blocks_for_packs(N * H, W, kThreads), kThreads, 0,
                 stream_, out_data, inp_data, N, H);
    cuda::check_launch();
  });
}

void CudaBackend::swiglu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_swiglu_backward(*this, dinp, inp, dout);
  const int64_t N = dout.rows(), H = dout.last_dim();
  if (N * H == 0) return;
  bf16* dinp_data = cuda::device_data<bf16>(dinp);
  const bf16* inp_data = cuda::device_data<bf16>(inp);
  const bf16* dout_data = cuda::device_data<bf16>(dout);
  with_pack_width(H, {dinp_data, inp_data, dout_data}, [&](auto width) {
    constexpr int W = decltype(width)::value;
    cuda::launch(swiglu_backward_kernel<W>, cuda::blocks_for_packs(N * H, W, kThreads), kThreads, 0,
                 stream_, dinp_data, inp_data, dout_data, N, H);
    cuda::check_launch();
  });
}

}  // namespace llm
