#pragma once
// Lesson 11: threads and memory. The functions you write in exercise.cu: each launches a kernel you
// also write there. Every pointer is DEVICE memory (cudaMalloc); every array is row-major float.
// The same file compiles with nvcc for a GPU and with the host compiler for the CPU emulation of
// CUDA (kernels/emulation/), where each CUDA thread is a fiber (a stack of its own).

namespace lesson11 {

// Threads per block of the 1D kernels (8 warps of 32).
constexpr int kBlock = 256;
// The 2D kernels' blocks are kTile x kTile threads.
constexpr int kTile = 16;

// ---- 1. one thread per element ----
// out[i] = a[i] + b[i] for i < n. One thread per element: i = blockIdx.x * blockDim.x +
// threadIdx.x, with enough blocks of kBlock threads to cover n (the last one partly idle).
void add(float* out, const float* a, const float* b, int n);

// ---- 2. a 2D grid ----
// out = in^T: out[c, r] = in[r, c].  in (rows, cols), out (cols, rows).
// kTile x kTile blocks; a thread's column is c = blockIdx.x * kTile + threadIdx.x and its row
// r = blockIdx.y * kTile + threadIdx.y, so the threads of a warp (consecutive threadIdx.x) read
// consecutive addresses of in (coalesced) and write addresses `rows` floats apart (strided).
void transpose(float* out, const float* in, int rows, int cols);

// ---- 3. a block reduction: shared memory, then warp shuffles ----
// partial[b] = sum of x[b kBlock .. b kBlock + kBlock - 1] (the part below n), for each of the
// ceil(n / kBlock) blocks. Each thread loads one element into a __shared__ array of kBlock floats;
// the block halves the array until 32 values are left (a __syncthreads() after every step), then
// warp 0 adds those 32 with __shfl_xor_sync.
void block_sums(float* partial, const float* x, int n);

// ---- 4. the row softmax, online ----
// out[r, :] = softmax(in[r, :]) for each of `rows` rows of `cols` values. One warp per row, 4 warps
// per block. Each lane reads columns lane, lane + 32, ... once, keeping a running maximum m and a
// running sum s = sum exp(x - m) (rescaled by exp(m_old - m_new) when m grows); the 32 lanes'
// (m, s) pairs are merged with shuffles; then out = exp(x - m) / s.
void softmax_rows(float* out, const float* in, int rows, int cols);

}  // namespace lesson11
