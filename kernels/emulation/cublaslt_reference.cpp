// cuBLASLt replaced at its boundary (see include/cublasLt.h): descriptors that record what the
// backend sets, a "heuristic" that checks the problem is one the reference can run and that the
// alignments claimed are true, and a reference GEMM:
//   D (m, n) = alpha op(A) (m, k) op(B) (k, n) + beta C (m, n) [+ bias (m) on every column]
// column-major, bf16 operands, every product summed in f32 in k order, D rounded to bf16 once.
#include <cublasLt.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <cstring>

struct cublasLtContext {};

struct cublasLtMatmulDescOpaque_t {
  int32_t transpose_a = CUBLAS_OP_N, transpose_b = CUBLAS_OP_N;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
  int32_t bias_type = CUDA_R_16BF;
};

struct cublasLtMatrixLayoutOpaque_t {
  cudaDataType type;
  uint64_t rows, cols;
  int64_t ld;
};

struct cublasLtMatmulPreferenceOpaque_t {
  uint64_t max_workspace_bytes = 0;
  uint32_t min_alignment[4] = {256, 256, 256, 256};  // A, B, C, D: cuBLASLt's default assumption
};

namespace {

// Copies an attribute's value, which must have exactly the size of the field it sets.
template <typename T> cublasStatus_t set_field(T& field, const void* value, size_t bytes) {
  if (bytes != sizeof(T)) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(&field, value, sizeof(T));
  return CUBLAS_STATUS_SUCCESS;
}

bool is_aligned(const void* ptr, uint32_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

// Whether the layouts describe D (m, n) = op(A) (m, k) op(B) (k, n) for some k, in bf16.
bool shapes_agree(const cublasLtMatmulDescOpaque_t& desc, const cublasLtMatrixLayoutOpaque_t& a,
                  const cublasLtMatrixLayoutOpaque_t& b, const cublasLtMatrixLayoutOpaque_t& d) {
  const uint64_t a_rows = desc.transpose_a ? a.cols : a.rows,
                 a_cols = desc.transpose_a ? a.rows : a.cols;
  const uint64_t b_rows = desc.transpose_b ? b.cols : b.rows,
                 b_cols = desc.transpose_b ? b.rows : b.cols;
  const bool bf16 = a.type == CUDA_R_16BF && b.type == CUDA_R_16BF && d.type == CUDA_R_16BF;
  const bool leading =
      a.ld >= int64_t(a.rows) && b.ld >= int64_t(b.rows) && d.ld >= int64_t(d.rows);
  return bf16 && leading && a_rows == d.rows && b_cols == d.cols && a_cols == b_rows;
}

bool supported(const cublasLtMatmulDescOpaque_t& desc) {
  const bool ops = (desc.transpose_a == CUBLAS_OP_N || desc.transpose_a == CUBLAS_OP_T) &&
                   (desc.transpose_b == CUBLAS_OP_N || desc.transpose_b == CUBLAS_OP_T);
  const bool epilogue =
      desc.epilogue == CUBLASLT_EPILOGUE_DEFAULT ||
      (desc.epilogue == CUBLASLT_EPILOGUE_BIAS && desc.bias && desc.bias_type == CUDA_R_16BF);
  return ops && epilogue;
}

float load(const void* matrix, int64_t index) {
  return __bfloat162float(static_cast<const __nv_bfloat16*>(matrix)[index]);
}

}  // namespace

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  *handle = new cublasLtContext;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                        cudaDataType scale_type) {
  if (compute != CUBLAS_COMPUTE_32F || scale_type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  *desc = new cublasLtMatmulDescOpaque_t;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attribute,
                                              const void* value, size_t bytes) {
  switch (attribute) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set_field(desc->transpose_a, value, bytes);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set_field(desc->transpose_b, value, bytes);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_field(desc->epilogue, value, bytes);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_field(desc->bias, value, bytes);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return set_field(desc->bias_type, value, bytes);
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld) {
  *layout = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* preference) {
  *preference = new cublasLtMatmulPreferenceOpaque_t;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t preference) {
  delete preference;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t preference,
                                                    cublasLtMatmulPreferenceAttributes_t attribute,
                                                    const void* value, size_t bytes) {
  switch (attribute) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
      return set_field(preference->max_workspace_bytes, value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
      return set_field(preference->min_alignment[0], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
      return set_field(preference->min_alignment[1], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
      return set_field(preference->min_alignment[2], value, bytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
      return set_field(preference->min_alignment[3], value, bytes);
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

// One "algorithm" for every problem the reference can run; its alignments are remembered in it and
// checked against the real pointers in cublasLtMatmul, as a real kernel relies on them.
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t preference, int requested,
                                              cublasLtMatmulHeuristicResult_t* results,
                                              int* found) {
  *found = 0;
  if (requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
  if (!supported(*desc) || !shapes_agree(*desc, *a, *b, *d)) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (c->rows != d->rows || c->cols != d->cols) return CUBLAS_STATUS_NOT_SUPPORTED;
  results[0] = {};
  for (int i = 0; i < 4; i++) results[0].algo.data[i] = preference->min_alignment[i];
  results[0].state = CUBLAS_STATUS_SUCCESS;
  *found = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t desc, const void* alpha,
                              const void* a, cublasLtMatrixLayout_t a_layout, const void* b,
                              cublasLtMatrixLayout_t b_layout, const void* beta, const void* c,
                              cublasLtMatrixLayout_t c_layout, void* d,
                              cublasLtMatrixLayout_t d_layout, const cublasLtMatmulAlgo_t* algo,
                              void*, size_t, cudaStream_t) {
  if (!supported(*desc) || !shapes_agree(*desc, *a_layout, *b_layout, *d_layout))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (c_layout->rows != d_layout->rows || c_layout->cols != d_layout->cols)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  // The alignments the algorithm was chosen for must be true of the pointers.
  const void* pointers[4] = {a, b, c, d};
  for (int i = 0; i < 4; i++)
    if (!is_aligned(pointers[i], uint32_t(algo->data[i]))) return CUBLAS_STATUS_INVALID_VALUE;

  const int64_t m = int64_t(d_layout->rows), n = int64_t(d_layout->cols);
  const int64_t k = int64_t(desc->transpose_a ? a_layout->rows : a_layout->cols);
  const float alpha_value = *static_cast<const float*>(alpha),
              beta_value = *static_cast<const float*>(beta);
  const int64_t lda = a_layout->ld, ldb = b_layout->ld, ldc = c_layout->ld, ldd = d_layout->ld;
  auto* d_values = static_cast<__nv_bfloat16*>(d);
  for (int64_t j = 0; j < n; j++) {
    for (int64_t i = 0; i < m; i++) {
      float sum = 0.0f;
      for (int64_t p = 0; p < k; p++) {
        const float a_ip = desc->transpose_a ? load(a, p + i * lda) : load(a, i + p * lda);
        const float b_pj = desc->transpose_b ? load(b, j + p * ldb) : load(b, p + j * ldb);
        sum += a_ip * b_pj;
      }
      float result = alpha_value * sum;
      if (beta_value != 0.0f)
        result += beta_value * load(c, i + j * ldc);  // C is not read when beta = 0
      if (desc->epilogue == CUBLASLT_EPILOGUE_BIAS) result += load(desc->bias, i);
      d_values[i + j * ldd] = __float2bfloat16(result);
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
  }
  return "unknown cuBLAS status";
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}
