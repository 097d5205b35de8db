// CudaBackend::rope_forward, rope_backward: rotary position embedding (Su et al. 2021), in the
// rotate-half convention of Hugging Face's Llama. CPU twin: llm/backend/cpu/rope.cpp.
//
// A row of inp (B, T, W) holds heads of hs channels; the first n_rotated heads (q's and k's inside
// qkv) turn by their position p = pos0 + t, the rest (v) are copied. In a head, channel i and
// channel i + hs/2 (i < hs/2) form a pair that turns by the angle p * f_i, with f_i the inverse
// frequency of llm/core/rope_frequencies.hpp (theta^(-2i/hs), rescaled for Llama 3.1's llama3):
//   forward:  out[i] = x[i] cos - x[i + hs/2] sin,   out[i + hs/2] = x[i + hs/2] cos + x[i] sin
//   backward: the transpose, a turn by -angle, ACCUMULATED:
//             dinp[i] += d[i] cos + d[i + hs/2] sin,   dinp[i + hs/2] += d[i + hs/2] cos - d[i] sin
//
// One thread per pair of a rotated head, or per copied channel: it reads its inputs, then writes
// its outputs, and no other thread touches them, so out may be inp itself (in place). The angle and
// its cos and sin are computed in double, then rounded to f32 as the CPU's table is: at position
// 10^5 an f32 angle would be off by ~4e-3 radians, in double it is exact to ~1e-11. The rest is
// f32.
#include <cmath>
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "llm/core/error.hpp"
#include "llm/core/rope_frequencies.hpp"

namespace llm {
namespace {

using cuda::bf16;

constexpr int kThreads = 256;  // per block

// f_i for the pairs of a head, computed on the host by RopeFrequencies::inverse_frequency (the one
// place the frequencies are defined, shared with the CPU) and passed to the kernel by value: 1 KiB
// of kernel parameters, no device allocation.
constexpr int kMaxPairs = 128;  // head sizes up to 256
struct InverseFrequencies {
  double f[kMaxPairs];
};

InverseFrequencies inverse_frequencies(const RopeFrequencies& frequencies, int hs) {
  check(hs / 2 <= kMaxPairs, "rope on CUDA: head size " + std::to_string(hs) +
                                 " is larger than the kernel's " + std::to_string(2 * kMaxPairs));
  InverseFrequencies table{};
  for (int i = 0; i < hs / 2; i++) table.f[i] = frequencies.inverse_frequency(i, hs);
  return table;
}

// The cos and sin of pair i's angle at position p, rounded to f32.
__device__ void rope_rotation(float& cos_angle, float& sin_angle, int64_t p, int i,
                              const InverseFrequencies& frequencies) {
  const double angle = double(p) * frequencies.f[i];
  cos_angle = float(cos(angle));
  sin_angle = float(sin(angle));
}

// Thread (row bt, j): j < n_rotated * hs/2 is pair i = j % (hs/2) of head j / (hs/2); the others
// copy channel rotated + (j - n_rotated * hs/2). sign = +1 turns forward (forward op), -1 back
// (backward op). Forward: out = R x. Backward: out += R^T x.
template <bool kAccumulate>
__global__ void rope_kernel(bf16* out,        // (B, T, W)
                            const bf16* inp,  // (B, T, W)
                            int64_t BT, int T, int W, int hs, int n_rotated, int pos0,
                            const InverseFrequencies frequencies, float sign) {
  const int half = hs / 2;
  const int64_t per_row = int64_t(n_rotated) * half + (W - int64_t(n_rotated) * hs);
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= BT * per_row) return;
  const int64_t bt = idx / per_row;
  const int64_t j = idx % per_row;
  const bf16* x = inp + bt * W;
  bf16* y = out + bt * W;
  if (j >= int64_t(n_rotated) * half) {  // a copied channel (v)
    const int64_t c = int64_t(n_rotated) * hs + (j - int64_t(n_rotated) * half);
    const float value = __bfloat162float(x[c]);
    y[c] = __float2bfloat16(kAccumulate ? __bfloat162float(y[c]) + value : value);
    return;
  }
  const int64_t head = j / half * hs;
  const int i = int(j % half);
  float cos_angle, sin_angle;
  rope_rotation(cos_angle, sin_angle, pos0 + bt % T, i, frequencies);
  sin_angle *= sign;
  const float x1 = __bfloat162float(x[head + i]), x2 = __bfloat162float(x[head + i + half]);
  float y1 = x1 * cos_angle - x2 * sin_angle;
  float y2 = x2 * cos_angle + x1 * sin_angle;
  if (kAccumulate) {
    y1 += __bfloat162float(y[head + i]);
    y2 += __bfloat162float(y[head + i + half]);
  }
  y[head + i] = __float2bfloat16(y1);
  y[head + i + half] = __float2bfloat16(y2);
}

}  // namespace

void CudaBackend::rope_forward(Tensor out, Tensor inp, int hs, int n_rotated, int pos0,
                               RopeFrequencies frequencies) {
  check_rope_forward(*this, out, inp, hs, n_rotated, pos0, frequencies);
  const int64_t B = inp.size(0), T = inp.size(1), W = inp.size(2);
  const int64_t per_row = int64_t(n_rotated) * (hs / 2) + (W - int64_t(n_rotated) * hs);
  if (B * T * per_row == 0) return;
  cuda::launch(rope_kernel<false>, unsigned(cuda::ceil_div(B * T * per_row, kThreads)), kThreads, 0,
               stream_, cuda::device_data<bf16>(out), cuda::device_data<const bf16>(inp), B * T,
               int(T), int(W), hs, n_rotated, pos0, inverse_frequencies(frequencies, hs), 1.0f);
  cuda::check_launch();
}

void CudaBackend::rope_backward(Tensor dinp, Tensor dout, int hs, int n_rotated, int pos0,
                                RopeFrequencies frequencies) {
  check_rope_backward(*this, dinp, dout, hs, n_rotated, pos0, frequencies);
  const int64_t B = dout.size(0), T = dout.size(1), W = dout.size(2);
  const int64_t per_row = int64_t(n_rotated) * (hs / 2) + (W - int64_t(n_rotated) * hs);
  if (B * T * per_row == 0) return;
  cuda::launch(rope_kernel<true>, unsigned(cuda::ceil_div(B * T * per_row, kThreads)), kThreads, 0,
               stream_, cuda::device_data<bf16>(dinp), cuda::device_data<const bf16>(dout), B * T,
               int(T), int(W), hs, n_rotated, pos0, inverse_frequencies(frequencies, hs), -1.0f);
  cuda::check_launch();
}

}  // namespace llm
