// CudaBackend::matmul_forward, matmul_backward: the linear layer out = inp @ weight^T + bias, on
// cuBLASLt, plus one small kernel pair of our own for the bias gradient. CPU twin:
// llm/backend/cpu/matmul.cpp.
//
// The three products (bf16 operands, f32 accumulation, f32 alpha and beta):
//   forward     out     (N, OC)  = inp (N, C) @ weight^T (C, OC) + bias (OC)
//   backward    dinp    (N, C)  += dout (N, OC) @ weight (OC, C)
//               dweight (OC, C) += dout^T (OC, N) @ inp (N, C)
//               dbias   (OC)    += sum over the N rows of dout
//
// Row-major tensors on a column-major library. cuBLASLt reads every matrix column-major, and the
// bytes of a row-major (r, c) matrix X are exactly the bytes of the column-major (c, r) matrix
// X^T (leading dimension c). Since (Q R)^T = R^T Q^T, a row-major product P = Q R is computed as
// the column-major product P^T = R^T Q^T: hand cuBLASLt the same two buffers in swapped order,
// and the column-major P^T it writes is, byte for byte, the row-major P we want. Spelled out,
// with cuBLASLt's D (m, n) = op(A) (m, k) @ op(B) (k, n):
//   out^T     (OC, N) = weight (OC, C) @ inp^T (C, N)       m, n, k = OC, N, C
//             A = weight's bytes, seen as weight^T (C, OC), so op(A) = transpose;
//             B = inp's bytes, seen as inp^T (C, N), used as they are.
//   dinp^T    (C, N)  = weight^T (C, OC) @ dout^T (OC, N)   m, n, k = C, N, OC
//             A = weight's bytes, B = dout's bytes, both used as they are.
//   dweight^T (C, OC) = inp^T (C, N) @ dout (N, OC)         m, n, k = C, OC, N
//             A = inp's bytes as they are; B = dout's bytes, seen as dout^T (OC, N), so
//             op(B) = transpose.
// The forward is the "TN" case: both operands run contiguously along the summed dimension k, the
// layout tensor-core kernels like best. The bias, one value per row of the column-major D (= per
// column of out), is added by the CUBLASLT_EPILOGUE_BIAS epilogue while the tile is still in
// registers. The backward GEMMs accumulate with beta = 1: D is both the C input and the output,
// the sum done in f32 and rounded to bf16 once.
//
// The natural next fusion is the MLP's GELU: CUBLASLT_EPILOGUE_GELU_AUX_BIAS would apply bias and
// GELU inside the fc GEMM and also write the pre-GELU values (the aux output) for the backward, and
// CUBLASLT_EPILOGUE_DGELU would fold the GELU derivative into the backward GEMM. The Backend
// interface has no fused matmul+GELU op yet, so none is offered here.
//
// Choosing the kernel. cublasLtMatmulAlgoGetHeuristic picks an algorithm for the shapes, the
// workspace we allow and the pointers' real alignment: tensors are packed back to back in arenas,
// so a small test shape can hand us a pointer aligned to only 2 bytes, and cuBLASLt assumes 256
// unless told (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*). The bias pointer's alignment it reads from
// the pointer itself, so the bias is set on the descriptor before the heuristic is asked. The
// heuristic is asked on every call, as llm.c does: cuBLASLt keeps its own cache of heuristic
// answers by problem (cublasLtHeuristicsCacheGetCapacity), so a repeated shape costs a lookup, and
// we keep no second cache of our own.
//
// Determinism. cuBLASLt with a user-owned workspace on one stream gives the same bits on every run
// (for one library version on one kind of GPU: same architecture, same SM count). The bias
// gradient is our own two-pass column sum (below), in a fixed order: no atomics anywhere.
// (cuBLASLt's CUBLASLT_EPILOGUE_BGRADB epilogue could fold that sum into the dweight GEMM, but it
// writes the bias gradient rather than adding to it.)
#include <cstdint>
#include <string>

#include "kernels/cuda_backend.hpp"
#include "kernels/cuda_check.cuh"
#include "kernels/device_math.cuh"
#include "kernels/launch.cuh"

namespace llm {

using cuda::bf16;
using cuda::cublas_check;

namespace {

// NVIDIA's recommended cuBLASLt workspace on Hopper (4 MiB is enough on older GPUs); some of the
// fastest kernels (split-K, stream-K) need it, and the heuristic only offers those that fit.
constexpr size_t kCublasLtWorkspaceBytes = size_t(32) << 20;

// ---- cuBLASLt descriptors ----
// Each is created and destroyed around one GEMM; owning them in a class destroys them even when a
// check throws halfway through.

class MatmulDescriptor {
 public:
  MatmulDescriptor() {
    // f32 accumulation (CUBLAS_COMPUTE_32F) and f32 alpha, beta (scale type) for bf16 operands.
    cublas_check(cublasLtMatmulDescCreate(&handle_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  }
  ~MatmulDescriptor() { cublasLtMatmulDescDestroy(handle_); }
  MatmulDescriptor(const MatmulDescriptor&) = delete;
  MatmulDescriptor& operator=(const MatmulDescriptor&) = delete;

  // `value` must have exactly the type the attribute's documentation in cublasLt.h names.
  template <typename T> void set(cublasLtMatmulDescAttributes_t attribute, const T& value) {
    cublas_check(cublasLtMatmulDescSetAttribute(handle_, attribute, &value, sizeof(value)));
  }
  cublasLtMatmulDesc_t get() const { return handle_; }

 private:
  cublasLtMatmulDesc_t handle_ = nullptr;
};

// A packed column-major bf16 matrix of `rows` x `cols`: its leading dimension is `rows`.
class MatrixLayout {
 public:
  MatrixLayout(int64_t rows, int64_t cols) {
    cublas_check(
        cublasLtMatrixLayoutCreate(&handle_, CUDA_R_16BF, uint64_t(rows), uint64_t(cols), rows));
  }
  ~MatrixLayout() { cublasLtMatrixLayoutDestroy(handle_); }
  MatrixLayout(const MatrixLayout&) = delete;
  MatrixLayout& operator=(const MatrixLayout&) = delete;

  cublasLtMatrixLayout_t get() const { return handle_; }

 private:
  cublasLtMatrixLayout_t handle_ = nullptr;
};

class MatmulPreference {
 public:
  MatmulPreference() { cublas_check(cublasLtMatmulPreferenceCreate(&handle_)); }
  ~MatmulPreference() { cublasLtMatmulPreferenceDestroy(handle_); }
  MatmulPreference(const MatmulPreference&) = delete;
  MatmulPreference& operator=(const MatmulPreference&) = delete;

  template <typename T> void set(cublasLtMatmulPreferenceAttributes_t attribute, const T& value) {
    cublas_check(cublasLtMatmulPreferenceSetAttribute(handle_, attribute, &value, sizeof(value)));
  }
  cublasLtMatmulPreference_t get() const { return handle_; }

 private:
  cublasLtMatmulPreference_t handle_ = nullptr;
};

// The largest power of two, up to cuBLASLt's default assumption of 256, that divides the address.
uint32_t pointer_alignment(const void* ptr) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(ptr);
  uint32_t alignment = 256;
  while (address % alignment != 0) alignment /= 2;
  return alignment;
}

// One GEMM in cuBLASLt's column-major terms (see the header comment for the mapping):
//   D (m, n) = op(A) (m, k) @ op(B) (k, n) + beta * D   [+ bias (m) added to every column of D]
// Every matrix is packed, so its leading dimension is its stored row count.
struct Gemm {
  const char* what;  // the product in the op's own row-major terms, for the error message
  int64_t m, n, k;
  const bf16* a;  // stored (k, m) if transpose_a, else (m, k)
  bool transpose_a;
  const bf16* b;  // stored (n, k) if transpose_b, else (k, n)
  bool transpose_b;
  bf16* d;           // (m, n)
  float beta;        // 0: overwrite D (its old contents are never read); 1: accumulate into D
  const bf16* bias;  // (m), or nullptr for none
};

void run_gemm(cublasLtHandle_t cublaslt, void* workspace, cudaStream_t stream, const Gemm& g) {
  MatmulDescriptor matmul;
  matmul.set(CUBLASLT_MATMUL_DESC_TRANSA, int32_t(g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N));
  matmul.set(CUBLASLT_MATMUL_DESC_TRANSB, int32_t(g.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N));
  if (g.bias) {
    matmul.set(CUBLASLT_MATMUL_DESC_EPILOGUE, uint32_t(CUBLASLT_EPILOGUE_BIAS));
    matmul.set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<const void*>(g.bias));
    matmul.set(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, int32_t(CUDA_R_16BF));
  }
  const MatrixLayout a_layout(g.transpose_a ? g.k : g.m, g.transpose_a ? g.m : g.k);
  const MatrixLayout b_layout(g.transpose_b ? g.n : g.k, g.transpose_b ? g.k : g.n);
  const MatrixLayout d_layout(g.m, g.n);  // also C's: C and D are the same buffer

  const uint32_t a_alignment = pointer_alignment(g.a);
  const uint32_t b_alignment = pointer_alignment(g.b);
  const uint32_t d_alignment = pointer_alignment(g.d);
  MatmulPreference preference;
  preference.set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, uint64_t(kCublasLtWorkspaceBytes));
  preference.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, a_alignment);
  preference.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, b_alignment);
  preference.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, d_alignment);
  preference.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, d_alignment);

  cublasLtMatmulHeuristicResult_t best{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      cublaslt, matmul.get(), a_layout.get(), b_layout.get(), d_layout.get(), d_layout.get(),
      preference.get(), 1, &best, &found);
  // NOT_SUPPORTED is cuBLASLt's other way of saying "no algorithm": report both with the shape.
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || (status == CUBLAS_STATUS_SUCCESS && found == 0)) {
    throw Error(std::string(g.what) +
                ": cuBLASLt found no algorithm for m = " + std::to_string(g.m) +
                ", n = " + std::to_string(g.n) + ", k = " + std::to_string(g.k) +
                " (bf16 in and out, f32 accumulation" + (g.bias ? ", bias epilogue" : "") +
                "; pointer alignments A " + std::to_string(a_alignment) + ", B " +
                std::to_string(b_alignment) + ", D " + std::to_string(d_alignment) + " bytes)");
  }
  cublas_check(status);

  const float alpha = 1.0f;
  cublas_check(cublasLtMatmul(cublaslt, matmul.get(), &alpha, g.a, a_layout.get(), g.b,
                              b_layout.get(), &g.beta, g.d, d_layout.get(), g.d, d_layout.get(),
                              &best.algo, workspace, kCublasLtWorkspaceBytes, stream));
}

// ---- the bias gradient: dbias (OC) += column sums of dout (N, OC) ----
// Pass 1: the rows are cut into chunks of kBiasRowsPerChunk; block (chunk, strip) sums its chunk
// for a strip of 32 columns (8 warps, each over every 8th row, then the 8 warp sums in order) and
// writes one f32 partial per column into partials (chunks, OC), in matmul_scratch_.
// Pass 2: one thread per column adds the partials in chunk order and adds that into dbias.
// Every sum runs in an order fixed by the shape alone (not by the GPU or the scheduling), so the
// result is the same bits on every run.

constexpr int kBiasColumnsPerBlock = 32;  // one warp across: lane j reads column j of the strip,
                                          // so a warp reads 64 contiguous bytes of a row
constexpr int kBiasWarpsPerBlock = 8;     // warp w sums rows w, w + 8, w + 16, ... of the chunk
constexpr int kBiasRowsPerChunk = 256;    // rows per block: 32 per thread
constexpr int kMaxGridY = 65535;          // CUDA's limit on gridDim.y

// grid (chunks, ceil(OC / 32)), block (32, 8): threadIdx.x is the column in the strip, threadIdx.y
// the warp.
__global__ void dbias_partial_sums_kernel(float* partials,   // (chunks, OC)
                                          const bf16* dout,  // (N, OC)
                                          int64_t N, int OC) {
  __shared__ float warp_sums[kBiasWarpsPerBlock][kBiasColumnsPerBlock];
  const int col = blockIdx.y * kBiasColumnsPerBlock + threadIdx.x;
  const int64_t row_begin = int64_t(blockIdx.x) * kBiasRowsPerChunk;
  const int64_t row_end = row_begin + kBiasRowsPerChunk < N ? row_begin + kBiasRowsPerChunk : N;
  float sum = 0.0f;
  if (col < OC) {
    for (int64_t row = row_begin + threadIdx.y; row < row_end; row += kBiasWarpsPerBlock)
      sum += __bfloat162float(dout[row * OC + col]);
  }
  warp_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  // The first warp adds the 8 warps' sums of its column, always in warp order.
  if (threadIdx.y == 0 && col < OC) {
    float chunk_sum = 0.0f;
    for (int warp = 0; warp < kBiasWarpsPerBlock; ++warp) chunk_sum += warp_sums[warp][threadIdx.x];
    partials[int64_t(blockIdx.x) * OC + col] = chunk_sum;
  }
}

// One thread per column; consecutive threads read consecutive partials (coalesced).
__global__ void dbias_accumulate_kernel(bf16* dbias,            // (OC)
                                        const float* partials,  // (chunks, OC)
                                        int chunks, int OC) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= OC) return;
  float sum = 0.0f;
  for (int chunk = 0; chunk < chunks; ++chunk) sum += partials[int64_t(chunk) * OC + col];
  dbias[col] = __float2bfloat16(__bfloat162float(dbias[col]) + sum);
}

}  // namespace

void CudaBackend::matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) {
  check_matmul_forward(*this, out, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  if (N == 0) return;
  void* workspace = cublaslt_workspace_.get(kCublasLtWorkspaceBytes);
  // out^T (OC, N) = weight (OC, C) @ inp^T (C, N) [+ bias]
  run_gemm(cublaslt_, workspace, stream_,
           Gemm{.what = "matmul_forward: out (N, OC) = inp (N, C) @ weight^T + bias, "
                        "as (m, n, k) = (OC, N, C)",
                .m = OC,
                .n = N,
                .k = C,
                .a = cuda::device_data<bf16>(weight),
                .transpose_a = true,
                .b = cuda::device_data<bf16>(inp),
                .transpose_b = false,
                .d = cuda::device_data<bf16>(out),
                .beta = 0.0f,
                .bias = bias.empty() ? nullptr : cuda::device_data<bf16>(bias)});
}

void CudaBackend::matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                  Tensor inp, Tensor weight) {
  check_matmul_backward(*this, dinp, dweight, dbias, dout, inp, weight);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  if (N == 0) return;  // every gradient gets a sum over no rows (and 0 chunks is no valid grid)
  const int64_t column_strips = cuda::ceil_div(OC, kBiasColumnsPerBlock);
  if (!dbias.empty()) {
    check(column_strips <= kMaxGridY,
          "matmul_backward: dbias has OC = " + std::to_string(OC) + " elements, more than the " +
              std::to_string(int64_t(kMaxGridY) * kBiasColumnsPerBlock) +
              " the dbias kernel supports");
  }
  void* workspace = cublaslt_workspace_.get(kCublasLtWorkspaceBytes);

  if (!dinp.empty()) {
    // dinp^T (C, N) += weight^T (C, OC) @ dout^T (OC, N)
    run_gemm(cublaslt_, workspace, stream_,
             Gemm{.what = "matmul_backward: dinp (N, C) += dout (N, OC) @ weight, "
                          "as (m, n, k) = (C, N, OC)",
                  .m = C,
                  .n = N,
                  .k = OC,
                  .a = cuda::device_data<bf16>(weight),
                  .transpose_a = false,
                  .b = cuda::device_data<bf16>(dout),
                  .transpose_b = false,
                  .d = cuda::device_data<bf16>(dinp),
                  .beta = 1.0f,
                  .bias = nullptr});
  }

  // dweight^T (C, OC) += inp^T (C, N) @ dout (N, OC)
  run_gemm(cublaslt_, workspace, stream_,
           Gemm{.what = "matmul_backward: dweight (OC, C) += dout^T (OC, N) @ inp (N, C), "
                        "as (m, n, k) = (C, OC, N)",
                .m = C,
                .n = OC,
                .k = N,
                .a = cuda::device_data<bf16>(inp),
                .transpose_a = false,
                .b = cuda::device_data<bf16>(dout),
                .transpose_b = true,
                .d = cuda::device_data<bf16>(dweight),
                .beta = 1.0f,
                .bias = nullptr});

  if (!dbias.empty()) {
    const int64_t chunks = cuda::ceil_div(N, kBiasRowsPerChunk);
    float* partials = static_cast<float*>(matmul_scratch_.get(size_t(chunks * OC) * sizeof(float)));
    const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(column_strips));
    const dim3 block(kBiasColumnsPerBlock, kBiasWarpsPerBlock);
    cuda::launch(dbias_partial_sums_kernel, grid, block, 0, stream_, partials,
                 cuda::device_data<bf16>(dout), N, int(OC));
    cuda::check_launch();
    constexpr int kThreads = 256;
    cuda::launch(dbias_accumulate_kernel, unsigned(cuda::ceil_div(OC, kThreads)), kThreads, 0,
                 stream_, cuda::device_data<bf16>(dbias), partials, int(chunks), int(OC));
    cuda::check_launch();
  }
}

}  // namespace llm
