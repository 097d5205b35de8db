#pragma once
// defines: expect_tensor, expect_numel, expect_rows_cols, expect_rank, expect_heads: the pieces
// the ops' argument checks are built from (Backend::check_<op>, llm/backend/op_checks.cpp), also
// used by a backend for what it checks on its own (the CUDA attention's output, convert).
//
// Each throws llm::Error "<op>: <tensor> <what is wrong>", e.g. "layernorm_forward: mean is bf16,
// expected f32", so a wrong call names itself.
#include <cstdint>
#include <string>

#include "llm/core/tensor.hpp"

namespace llm {

// Non-empty, on `device`, of `dtype`.
void expect_tensor(const char* op, const char* name, const Tensor& t, DType dtype, Device device);
// Exactly `numel` elements; `expected` names the shape in words, e.g. "(B, NH, T, T)".
void expect_numel(const char* op, const char* name, const Tensor& t, int64_t numel,
                  const std::string& expected);
// (rows, cols) with every leading dimension folded into rows, as the "N" of the shape legend.
void expect_rows_cols(const char* op, const char* name, const Tensor& t, int64_t rows,
                      int64_t cols);
void expect_rank(const char* op, const char* name, const Tensor& t, int rank);
// C channels split evenly into NH heads.
void expect_heads(const char* op, int64_t C, int NH);

}  // namespace llm
