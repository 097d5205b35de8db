#pragma once
// defines: tensor_to_host_f64, tensor_from_host_f64, tensor_to_host_f32: any float tensor, on any
//          device, as host doubles (or floats).
//
// For set-up and inspection (initialisation, checkpoints, probes, tests), never per step: every
// call copies the whole tensor across and converts it element by element on the host.
#include <vector>

#include "llm/backend/backend.hpp"

namespace llm {

// A tensor (f64, f32 or bf16) copied to the host and widened to doubles.
std::vector<double> tensor_to_host_f64(Backend& backend, Tensor t);
// A tensor (f32 or bf16) copied to the host as floats (bf16 widened exactly); f64 is refused.
std::vector<float> tensor_to_host_f32(Backend& backend, Tensor t);
// Host doubles rounded to the tensor's dtype (bf16: to nearest even) and copied into it.
void tensor_from_host_f64(Backend& backend, Tensor t, const std::vector<double>& values);

}  // namespace llm
