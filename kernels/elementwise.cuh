#pragma once
// defines: llm::cuda::launch_elementwise, launch_elementwise_with: the launch every element-wise
// kernel shares (gelu.cu, relu2.cu, residual.cu, scale_add.cu).
//
// An element-wise kernel is a template over its pack width W with the parameters
// (pointers..., int64_t n), or (pointers..., int64_t n, Scalars) for an op with scalar settings
// (launch_elementwise_with): the thread of global index i takes elements i*W .. i*W + W-1, loaded
// and stored as one pack (kernels/vector_access.cuh), and the last thread takes the fewer than W
// elements left over one at a time. launch_elementwise runs kernel<kPackWidth> (one 16-byte load or
// store per tensor and thread) when every pointer is 16-byte aligned, kernel<1> otherwise (views
// into a packed arena may start at any even address), in blocks of kElementwiseThreads threads.
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/launch.cuh"
#include "kernels/vector_access.cuh"

namespace llm::cuda {

constexpr int kPackWidth = 8;             // bf16 per 16-byte pack
constexpr int kElementwiseThreads = 256;  // per block

// `packed` is kernel<kPackWidth> and `single` kernel<1> (both have the same type); n elements.
template <typename Kernel, typename... Pointers>
void launch_elementwise(Kernel packed, Kernel single, cudaStream_t stream, int64_t n,
                        Pointers... pointers) {
  if (n == 0) return;
  const bool packs = aligned_16({pointers...});
  const int W = packs ? kPackWidth : 1;
  launch(packs ? packed : single, blocks_for_packs(n, W, kElementwiseThreads), kElementwiseThreads,
         0, stream, pointers..., n);
  check_launch();
}

// The same for a kernel that also takes the op's scalars, after n.
template <typename Kernel, typename Scalars, typename... Pointers>
void launch_elementwise_with(Kernel packed, Kernel single, cudaStream_t stream, int64_t n,
                             Scalars scalars, Pointers... pointers) {
  if (n == 0) return;
  const bool packs = aligned_16({pointers...});
  const int W = packs ? kPackWidth : 1;
  launch(packs ? packed : single, blocks_for_packs(n, W, kElementwiseThreads), kElementwiseThreads,
         0, stream, pointers..., n, scalars);
  check_launch();
}

}  // namespace llm::cuda
