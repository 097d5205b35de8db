// CudaBackend::adamw_update: one AdamW step (Loshchilov & Hutter 2019) on one parameter tensor,
// with f32 master weights. CPU twin: llm/backend/cpu/adamw.cpp.
//
// Element-wise, for every index i:
//   g = grad * grad_scale                              (grad_scale < 1 when clipping the global
//   norm) m = beta1 m + (1 - beta1) g                        running mean of the gradient v = beta2
//   v + (1 - beta2) g^2                      running mean of its square master -= lr * ( m c1 /
//   (sqrt(v c2) + eps) + weight_decay * master ) param = bf16(master) (round to nearest even)
// where c1 = 1 / (1 - beta1^step) and c2 = 1 / (1 - beta2^step) undo the bias of m, v starting at
// 0. The bf16 weights cannot carry an update: a step of lr * 1e-3 is far below bf16's 3 significant
// digits, so the update goes to the f32 master copy and the bf16 param is only its rounding.
//
// As in the CPU twin, the per-step constants (c1, c2) are computed once on the host in double and
// rounded to f32, and the element-wise work is f32 in the same order of operations. Each thread
// updates a pack of 4 consecutive elements with 16-byte f32 and 8-byte bf16 loads and stores when
// every pointer is aligned for that (true for the model's tensors, which start at multiples of C),
// and one element otherwise; the last pack of a tensor whose size is not a multiple of 4 is done
// element by element.
#include <cmath>
#include <cstdint>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::bf16;
using cuda::is_aligned;
using cuda::Pack;

constexpr int kThreads = 256;

// The step's scalars in f32, as the CPU twin rounds them.
struct AdamWConstants {
  float beta1, beta2;
  float m_correction, v_correction;  // 1 / (1 - beta^step)
  float learning_rate, weight_decay, eps;
  float grad_scale;
};

// One element: updates m, v and master in place. The products are grouped as the CPU twin's
// Eigen expressions group them, so both round the same way (up to fused multiply-adds).
__device__ inline void adamw_element(float& master, float& m, float& v, float grad,
                                     const AdamWConstants& c) {
  const float g = c.grad_scale * grad;
  m = c.beta1 * m + ((1.0f - c.beta1) * c.grad_scale) * grad;
  v = c.beta2 * v + (1.0f - c.beta2) * (g * g);
  master -= c.learning_rate *
            ((m * c.m_correction) / (sqrtf(v * c.v_correction) + c.eps) + c.weight_decay * master);
}

// Thread t updates elements [t W, t W + W). W = 4: all pointers aligned to their pack size;
// W = 1: any alignment.
template <int W> __global__ void adamw_kernel(bf16* param,       // (n)
                                              const bf16* grad,  // (n)
                                              float* m,          // (n)
                                              float* v,          // (n)
                                              float* master,     // (n)
                                              int64_t n, AdamWConstants constants) {
  const int64_t start = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (start >= n) return;
  if (start + W <= n) {  // a whole pack: vector loads and stores
    const Pack<bf16, W> g = *reinterpret_cast<const Pack<bf16, W>*>(grad + start);
    Pack<float, W> m_pack = *reinterpret_cast<const Pack<float, W>*>(m + start);
    Pack<float, W> v_pack = *reinterpret_cast<const Pack<float, W>*>(v + start);
    Pack<float, W> master_pack = *reinterpret_cast<const Pack<float, W>*>(master + start);
    Pack<bf16, W> param_pack;
    for (int k = 0; k < W; k++) {
      adamw_element(master_pack.values[k], m_pack.values[k], v_pack.values[k],
                    __bfloat162float(g.values[k]), constants);
      param_pack.values[k] = __float2bfloat16(master_pack.values[k]);  // round to nearest even
    }
    *reinterpret_cast<Pack<float, W>*>(m + start) = m_pack;
    *reinterpret_cast<Pack<float, W>*>(v + start) = v_pack;
    *reinterpret_cast<Pack<float, W>*>(master + start) = master_pack;
    *reinterpret_cast<Pack<bf16, W>*>(param + start) = param_pack;
  } else {  // the tensor's last, partial pack: element by element
    for (int64_t i = start; i < n; i++) {
      adamw_element(master[i], m[i], v[i], __bfloat162float(grad[i]), constants);
      param[i] = __float2bfloat16(master[i]);
    }
  }
}

}  // namespace

void CudaBackend::adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                               const AdamWSettings& s, double grad_scale) {
  check_adamw_update(*this, param, grad, m, v, master, s, grad_scale);
  check(!master.empty(),
        "adamw_update: master is empty; the cuda backend needs f32 master "
        "weights, since a bf16 param is too coarse to take an update (see "
        "master_dtype())");
  const int64_t n = param.numel();
  if (n == 0) return;

  // The per-step constants in double, rounded to f32 once (as the CPU twin does).
  AdamWConstants constants;
  constants.beta1 = static_cast<float>(s.beta1);
  constants.beta2 = static_cast<float>(s.beta2);
  constants.m_correction = static_cast<float>(1.0 / (1.0 - std::pow(s.beta1, double(s.step))));
  constants.v_correction = static_cast<float>(1.0 / (1.0 - std::pow(s.beta2, double(s.step))));
  constants.learning_rate = static_cast<float>(s.learning_rate);
  constants.weight_decay = static_cast<float>(s.weight_decay);
  constants.eps = static_cast<float>(s.eps);
  constants.grad_scale = static_cast<float>(grad_scale);

  bf16* param_data = cuda::device_data<bf16>(param);
  const bf16* grad_data = cuda::device_data<bf16>(grad);
  float* m_data = cuda::device_data<float>(m);
  float* v_data = cuda::device_data<float>(v);
  float* master_data = cuda::device_data<float>(master);
  constexpr int kPack = 4;  // 16 bytes of f32, 8 of bf16
  const bool packs_aligned =
      is_aligned(param.data, kPack * sizeof(bf16)) && is_aligned(grad.data, kPack * sizeof(bf16)) &&
      is_aligned(m.data, kPack * sizeof(float)) && is_aligned(v.data, kPack * sizeof(float)) &&
      is_aligned(master.data, kPack * sizeof(float));
  if (packs_aligned) {
    const unsigned blocks = unsigned(cuda::ceil_div(cuda::ceil_div(n, kPack), kThreads));
    cuda::launch(adamw_kernel<kPack>, blocks, kThreads, 0, stream_, param_data, grad_data, m_data,
                 v_data, master_data, n, constants);
  } else {
    const unsigned blocks = unsigned(cuda::ceil_div(n, kThreads));
    cuda::launch(adamw_kernel<1>, blocks, kThreads, 0, stream_, param_data, grad_data, m_data,
                 v_data, master_data, n, constants);
  }
  cuda::check_launch();
}

}  // namespace llm
