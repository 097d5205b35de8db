#include "llm/backend/op_checks.hpp"

namespace llm {

void expect_tensor(const char* op, const char* name, const Tensor& t, DType dtype, Device device) {
  const std::string where = std::string(op) + ": " + name;
  check(!t.empty(), where + " is empty");
  check(t.device == device,
        where + " is on " + device_name(t.device) + ", expected " + device_name(device));
  check(t.dtype == dtype, where + " is " + dtype_name(t.dtype) + ", expected " + dtype_name(dtype));
}

void expect_numel(const char* op, const char* name, const Tensor& t, int64_t numel,
                  const std::string& expected) {
  check(t.numel() == numel, std::string(op) + ": " + name + " has shape " + t.shape.str() + " (" +
                                std::to_string(t.numel()) + " elements), expected " + expected +
                                " = " + std::to_string(numel) + " elements");
}

void expect_rows_cols(const char* op, const char* name, const Tensor& t, int64_t rows, int64_t cols) {
  check(t.last_dim() == cols && t.rows() == rows,
        std::string(op) + ": " + name + " has shape " + t.shape.str() + ", expected (" +
            std::to_string(rows) + ", " + std::to_string(cols) + ") with leading dimensions folded");
}

void expect_rank(const char* op, const char* name, const Tensor& t, int rank) {
  check(t.shape.rank == rank, std::string(op) + ": " + name + " has shape " + t.shape.str() +
                                  ", expected rank " + std::to_string(rank));
}

void expect_heads(const char* op, int64_t C, int NH) {
  check(NH > 0 && C % NH == 0, std::string(op) + ": C = " + std::to_string(C) +
                                   " is not divisible into NH = " + std::to_string(NH) + " heads");
}

}  // namespace llm
