#pragma once
// defines: llm::ByteSink, llm::stream_tensor_values: a model's tensor written to a file piece by
//          piece, the mirror of stored_tensor.hpp.
//
// Every writer (glassbox checkpoints, AdamW state, llm.c files) ends here, so saving never builds
// the whole model on the host: each tensor goes from the backend's arena to the file in pieces of
// about 4 MiB, widened to the file's dtype (bf16 -> F32 exactly) and transposed where the file's
// layout is (in, out) and ours (out, in). A tensor in host memory is read in place; one on a GPU
// passes through one host copy of that tensor at most (a piece of it when no transpose is needed).
#include <cstddef>
#include <cstdint>
#include <functional>

#include "llm/backend/backend.hpp"

namespace llm {

// Receives a file's bytes in order, one piece at a time (AtomicFile::write, or a test's buffer).
using ByteSink = std::function<void(const void* data, size_t bytes)>;

// Hands the first rows x cols values of `src` (row-major; a tensor holding more, like wte with its
// padding rows, has the rest left out) to `sink` as `file_dtype` values (f32 or f64): in the
// tensor's order, or transposed into (cols, rows) when `transpose`. f32 and bf16 tensors become
// f32 exactly; an f64 tensor becomes f64 exactly, or f32 rounded to nearest.
void stream_tensor_values(Backend& backend, Tensor src, int64_t rows, int64_t cols,
                          DType file_dtype, bool transpose, const ByteSink& sink);

}  // namespace llm
