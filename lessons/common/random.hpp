#pragma once
// defines: lesson::randn, lesson::randint: seeded random inputs for the lessons' tests and demos,
// and for the project's tests (tests/test_inputs.hpp). The same seed gives the same values in every
// test and on every machine: std::mt19937 and the standard distributions are fully specified for
// the integers, and the normal values come from libstdc++'s one algorithm.
#include <cstdint>
#include <random>
#include <vector>

namespace lesson {

// Normal values N(mean, stddev^2), never exactly 0 (a zero could hide a missing term).
inline std::vector<double> randn(size_t n, uint32_t seed, double stddev = 1.0, double mean = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, stddev);
  std::vector<double> v(n);
  for (double& x : v) {
    do x = dist(rng);
    while (x == 0.0);
  }
  return v;
}

// Integers uniform in [lo, hi).
inline std::vector<int32_t> randint(size_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi - 1);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = dist(rng);
  return v;
}

}  // namespace lesson
