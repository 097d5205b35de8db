#pragma once
// The CUDA emulation's stand-in for CUB's DeviceRadixSort::SortPairs, the one CUB call the backend
// makes (encoder.cu): a stable sort of (key, value) pairs by key, with CUB's two-call protocol (a
// first call with no storage asks how many temporary bytes the second call needs). The order is
// CUB's for signed keys over all 32 bits: ascending as integers, equal keys in input order.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace cub {

struct DeviceRadixSort {
  static cudaError_t SortPairs(void* temp_storage, size_t& temp_storage_bytes,
                               const int32_t* keys_in, int32_t* keys_out, const int32_t* values_in,
                               int32_t* values_out, int num_items, int begin_bit, int end_bit,
                               cudaStream_t /*stream*/) {
    if (begin_bit != 0 || end_bit != 32)
      return cudaErrorInvalidValue;  // only the full-key sort is emulated
    // As much temporary storage as a radix sort's double buffers; it is written below, so a
    // caller that hands over less than asked for shows up under AddressSanitizer.
    const size_t needed = size_t(num_items) * 2 * sizeof(int32_t) + 1;
    if (temp_storage == nullptr) {
      temp_storage_bytes = needed;
      return cudaSuccess;
    }
    if (temp_storage_bytes < needed) return cudaErrorInvalidValue;
    std::memset(temp_storage, 0xcd, needed);
    std::vector<int> order(static_cast<size_t>(num_items));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return keys_in[a] < keys_in[b]; });
    for (int i = 0; i < num_items; i++) {
      keys_out[i] = keys_in[order[size_t(i)]];
      values_out[i] = values_in[order[size_t(i)]];
    }
    return cudaSuccess;
  }
};

}  // namespace cub
