// CudaBackend::scale_add: out = alpha a + beta b, element by element. CPU twin:
// llm/backend/cpu/scale_add.cpp.
//
// Muon's element-wise work (llm/train/muon.hpp, llm/train/newton_schulz.hpp) mixes dtypes: its
// momentum and master weights are f32, the gradients, weights and the Newton-Schulz iterates bf16:
//   buf    <- mu buf + (1 - mu) s G       f32 = f32, bf16
//   U       = (1 - mu) s G + mu buf       bf16 = bf16, f32
//   X      <- a X + X M                   bf16 = bf16, bf16
//   master <- master - lr O               f32 = f32, bf16
// So each of out, a and b is bf16 or f32 (8 kernels, one per combination), every element is
// computed in f32 with alpha and beta rounded to f32 once on the host (as the CPU twin rounds them
// to its dtype), and the result is rounded once to out's dtype. One thread per pack of W = 8
// consecutive elements when every pointer is 16-byte aligned (one 16-byte load of bf16, two of
// f32), W = 1 otherwise, launched by cuda::launch_elementwise_with (kernels/elementwise.cuh); the
// last thread takes the elements left over one at a time. A thread reads its elements of a and b
// before it writes out, so out may be a or b.
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/device_math.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::bf16;
using cuda::load_f32;
using cuda::store_f32;

struct ScaleAddScalars {
  float alpha, beta;
};

// out[k] = alpha a[k] + beta b[k] for k < W: loads, f32 arithmetic, one rounding at the store.
template <int W, typename Out, typename A, typename B>
__device__ void scale_add_pack(Out* out, const A* a, const B* b, ScaleAddScalars s) {
  float x[W], y[W], result[W];
  load_f32(x, a);
  load_f32(y, b);
#pragma unroll
  for (int k = 0; k < W; k++) result[k] = s.alpha * x[k] + s.beta * y[k];
  store_f32(out, result);
}

template <typename Out, typename A, typename B, int W>
__global__ void scale_add_kernel(Out* out, const A* a, const B* b, int64_t n, ScaleAddScalars s) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;  // first element
  if (i + W <= n) {
    scale_add_pack<W>(out + i, a + i, b + i, s);
  } else {
    // The tail (fewer than W elements, only in the last thread); no-op for threads past the end.
    for (int64_t j = i; j < n; j++) scale_add_pack<1>(out + j, a + j, b + j, s);
  }
}

// The C++ element type of a bf16 or f32 tensor, as a value: fn(ElementType<bf16>{}) or
// fn(ElementType<float>{}). The op's check has made sure it is one of the two.
template <typename T> struct ElementType { using type = T; };
template <typename Fn> void with_element_type(DType dtype, Fn&& fn) {
  if (dtype == DType::bf16)
    fn(ElementType<bf16>{});
  else
    fn(ElementType<float>{});
}

}  // namespace

void CudaBackend::scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) {
  check_scale_add(*this, out, alpha, a, beta, b);
  const ScaleAddScalars scalars{static_cast<float>(alpha), static_cast<float>(beta)};
  with_element_type(out.dtype, [&](auto out_type) {
    with_element_type(a.dtype, [&](auto a_type) {
      with_element_type(b.dtype, [&](auto b_type) {
        using Out = typename decltype(out_type)::type;
        using A = typename decltype(a_type)::type;
        using B = typename decltype(b_type)::type;
        cuda::launch_elementwise_with(scale_add_kernel<Out, A, B, cuda::kPackWidth>,
                                      scale_add_kernel<Out, A, B, 1>, stream_, a.numel(), scalars,
                                      cuda::device_data<Out>(out), cuda::device_data<const A>(a),
                                      cuda::device_data<const B>(b));
      });
    });
  });
}

}  // namespace llm
