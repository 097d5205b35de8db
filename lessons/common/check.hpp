#pragma once
// defines: lesson::randn, lesson::randint, lesson::expect_close, lesson::expect_equal
//
// What every lesson test uses to compare the student's function with the library's reference:
// fresh random inputs from a seeded generator (never zeros: a zero can hide a missing term), and a
// comparison that, on failure, names the FIRST index that differs, as a multi-dimensional index
// when the shape is given, with both values:
//   out: first mismatch at [1, 3, 7] (flat 43) of (B=2, T=5, C=12): yours 0.31415, reference
//   0.27182 (12 of 120 values differ)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/random.hpp"

namespace lesson {

// A named shape for messages: {{"B", 2}, {"T", 5}, {"C", 12}}.
using Dims = std::vector<std::pair<const char*, int64_t>>;

inline std::string index_string(int64_t flat, const Dims& dims) {
  std::ostringstream s;
  if (dims.empty()) {
    s << "[" << flat << "]";
    return s.str();
  }
  std::vector<int64_t> idx(dims.size());
  int64_t rest = flat;
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = rest % dims[d].second;
    rest /= dims[d].second;
  }
  s << "[";
  for (size_t d = 0; d < idx.size(); d++) s << (d ? ", " : "") << idx[d];
  s << "] (flat " << flat << ") of (";
  for (size_t d = 0; d < dims.size(); d++)
    s << (d ? ", " : "") << dims[d].first << "=" << dims[d].second;
  s << ")";
  return s.str();
}

// |got - want| <= atol + rtol |want|, NaN never passes. Reports the first index that does not.
inline void expect_close(const std::string& what, const double* got, const double* want, int64_t n,
                         const Dims& dims = {}, double rtol = 1e-7, double atol = 1e-9) {
  int64_t first = -1, bad = 0;
  for (int64_t i = 0; i < n; i++) {
    const double err = std::abs(got[i] - want[i]);
    if (!(err <= atol + rtol * std::abs(want[i]))) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (first < 0) {
    CHECK(true);
    return;
  }
  // The mismatch is the failure's first line, where a student looks (not a CHECK's expression).
  std::ostringstream msg;
  msg.precision(10);
  msg << what << ": first mismatch at " << index_string(first, dims) << ": yours " << got[first]
      << ", reference " << want[first] << "  (" << bad << " of " << n << " values differ)";
  FAIL_CHECK(msg.str());
}

inline void expect_close(const std::string& what, const std::vector<double>& got,
                         const std::vector<double>& want, const Dims& dims = {}, double rtol = 1e-7,
                         double atol = 1e-9) {
  if (got.size() != want.size()) {
    FAIL_CHECK(what << ": yours has " << got.size() << " values, the reference " << want.size());
    return;
  }
  expect_close(what, got.data(), want.data(), int64_t(want.size()), dims, rtol, atol);
}

inline void expect_close(const std::string& what, double got, double want, double rtol = 1e-7,
                         double atol = 1e-9) {
  expect_close(what, &got, &want, 1, {}, rtol, atol);
}

// Exact equality of two sequences (ids, strings, ...), reporting the first difference.
template <typename T, typename Show> void expect_equal(const std::string& what,
                                                       const std::vector<T>& got,
                                                       const std::vector<T>& want, Show show) {
  size_t first = 0;
  while (first < got.size() && first < want.size() && got[first] == want[first]) first++;
  if (first == got.size() && first == want.size()) {
    CHECK(true);
    return;
  }
  std::ostringstream msg;
  msg << what << ": ";
  if (first < got.size() && first < want.size()) {
    msg << "first difference at [" << first << "]: yours " << show(got[first]) << ", reference "
        << show(want[first]);
  } else {
    msg << "yours has " << got.size() << " entries, the reference " << want.size()
        << (first < want.size() ? "; the first missing one is " + show(want[first])
                                : "; the first extra one is " + show(got[first]));
  }
  FAIL_CHECK(msg.str());
}

template <typename T>
void expect_equal(const std::string& what, const std::vector<T>& got, const std::vector<T>& want) {
  expect_equal(what, got, want, [](const T& x) {
    std::ostringstream s;
    s << x;
    return s.str();
  });
}

// A byte string shown with escapes: "\n" as \n, non-printable bytes as \xNN.
inline std::string quoted(const std::string& bytes) {
  std::ostringstream s;
  s << '"';
  for (unsigned char c : bytes) {
    if (c == '\n')
      s << "\\n";
    else if (c == '"')
      s << "\\\"";
    else if (c >= 32 && c < 127)
      s << c;
    else {
      const char* hex = "0123456789abcdef";
      s << "\\x" << hex[c >> 4] << hex[c & 15];
    }
  }
  s << '"';
  return s.str();
}

// Two byte strings must be equal; on failure, the first differing byte offset and 20 bytes of
// context from each side.
inline void expect_same_text(const std::string& what, const std::string& got,
                             const std::string& want) {
  size_t first = 0;
  while (first < got.size() && first < want.size() && got[first] == want[first]) first++;
  if (first == got.size() && first == want.size()) {
    CHECK(true);
    return;
  }
  const size_t from = first < 10 ? 0 : first - 10;
  FAIL_CHECK(what << ": first difference at byte " << first << " (yours has " << got.size()
                  << " bytes, the reference " << want.size() << "): yours "
                  << quoted(got.substr(std::min(from, got.size()), 20)) << ", reference "
                  << quoted(want.substr(from, 20)));
}

// A number as a short string: 0.7, 1e-05, 45.
inline std::string num(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace lesson
