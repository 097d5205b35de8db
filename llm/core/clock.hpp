#pragma once
// seconds_since: the time a piece of work took, for progress lines and measurements. The steady
// clock never jumps (a change of the system time cannot make a duration negative).
#include <chrono>

namespace llm {

// Seconds from `start` (a std::chrono::steady_clock::now()) until now.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace llm
