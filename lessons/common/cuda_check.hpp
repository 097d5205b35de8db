#pragma once
// defines: lesson::run_kernel, lesson::expect_device_close
//
// The CUDA lessons' checks. Each turns a classic kernel bug into a failed test with a message that
// says what to fix:
//   - a data race (a missing __syncthreads()): ThreadSanitizer's report, counted around the launch;
//   - a barrier in divergent code, a bad launch configuration: the emulation's or the runtime's
//     error, with the function's name;
//   - a write past the end of an output: the guard elements after it (DeviceArray) were changed;
//   - a read past the end of an input: the NaN guards after it show up in the output;
//   - a wrong value: the first index that differs, as in every lesson.
#include <doctest/doctest.h>

#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "common/cuda.hpp"
#include "common/race_watch.hpp"

namespace lesson {

// Runs `launch` (your host function, which launches kernels) and waits for the device. Returns
// false, with a failed check that says why, when it threw, left a CUDA error, or raced.
template <typename Launch> bool run_kernel(const std::string& what, Launch&& launch) {
  const int races_before = races_reported();
  try {
    launch();
    check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    check_cuda(cudaGetLastError(), "the launch");
  } catch (const std::exception& e) {
    FAIL_CHECK(what << ": " << std::string(e.what()));
    return false;
  }
  if (races_reported() > races_before) {
    FAIL_CHECK(
        what << ": a data race: two threads of a block used the same memory, at least one "
                "writing, with no __syncthreads() between them (ThreadSanitizer's report "
                "above names both lines). Usually a thread reads a __shared__ slot that "
                "another thread writes: put a __syncthreads() between the write and the "
                "read, and another before the slot is overwritten. If the report names a global "
                "array instead, two threads wrote one element: check the index and bounds.");
    return false;
  }
  return true;
}

// Your device output `out` against `want`; first the guards: a write past its end, then NaN from
// a read past an input's end; then the values, reporting the first mismatch.
inline void expect_device_close(const std::string& what, const DeviceArray& out,
                                const std::vector<double>& want, const Dims& dims,
                                double rtol = 1e-5, double atol = 1e-6) {
  const int64_t n = out.size();
  const int64_t overwritten = out.first_overwritten_guard();
  if (overwritten >= 0) {
    FAIL_CHECK(what << ": a thread wrote element " << overwritten << ", past the last one ("
                    << n - 1 << "): the grid is rounded up to whole blocks, so some threads have "
                    << "no element. Guard the body with the bounds, e.g. if (i < n).");
    return;
  }
  const std::vector<float> got = out.to_host();
  for (int64_t i = 0; i < n; i++) {
    if (std::isnan(got[size_t(i)]) && !std::isnan(want[size_t(i)])) {
      FAIL_CHECK(what << ": NaN at " << index_string(i, dims)
                      << ". Every input array is followed by NaN guards: a thread that reads past "
                      << "an input's end gets NaN (check the index before the load), or the "
                      << "arithmetic made one (exp(-inf - -inf), 0 / 0).");
      return;
    }
  }
  const std::vector<double> yours(got.begin(), got.end());
  expect_close(what, yours, want, dims, rtol, atol);
}

}  // namespace lesson
