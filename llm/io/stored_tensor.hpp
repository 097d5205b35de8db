#pragma once
// defines: llm::StoredTensor, llm::convert_stored, llm::load_stored_tensor: one tensor's bytes in a
//          file (mapped into memory) converted into a model's tensor in a single pass.
//
// Every loader (safetensors checkpoints, Hugging Face files, AdamW state, llm.c files) ends here,
// so each value is touched once on its way from the file to the backend's arena: widened or
// narrowed from the file's dtype to the tensor's (F32, F64, F16, BF16 -> f32, f64, bf16),
// transposed where the file's layout is (in, out) and ours (out, in), and checked finite. No
// double-precision copy is made unless the tensor itself is f64.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "llm/backend/backend.hpp"

namespace llm {

enum class StoredDType { f32, f64, f16, bf16 };
size_t stored_dtype_size(StoredDType dtype);

struct StoredTensor {
  const uint8_t* bytes = nullptr;  // rows x cols little-endian values, no alignment promised
  StoredDType dtype = StoredDType::f32;
  int64_t rows = 1, cols = 0;  // as stored, row-major (a vector is one row)
  std::string where;  // names the file and the tensor, e.g. "safetensors file F: tensor 'T'"
  // Called with each stretch of `bytes` once its values are converted (may be empty): lets a mapped
  // file give those pages back while the rest is still being read.
  std::function<void(const uint8_t* begin, size_t n)> release;
};

// Writes src's rows x cols values to host memory `out` as `out_dtype` (f32, f64 or bf16, rounded to
// nearest even): in the stored order, or transposed into (cols, rows) when `transpose`. Throws
// llm::Error naming src.where and the element when a value is NaN or infinite (after conversion: an
// F64 value beyond f32's range counts as infinite in an f32 tensor).
void convert_stored(void* out, DType out_dtype, const StoredTensor& src, bool transpose);

// The same into a backend tensor, in place when it lives in host memory (else through one host copy
// of the tensor). dst may hold more elements than src: the rest are set to 0 (wte's padding rows).
void load_stored_tensor(Backend& backend, Tensor dst, const StoredTensor& src, bool transpose);

}  // namespace llm
