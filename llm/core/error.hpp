#pragma once
// defines: llm::Error, the one exception type for bad input and failed checks.
//
// Every error the user can cause (a missing file, a wrong magic number, a bad flag) becomes one
// llm::Error with a one-line message that names the file or flag. The CLI prints it as
// "glassbox: error: <message>" and exits with status 1.
#include <stdexcept>
#include <string>

namespace llm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// check(condition, message): throw llm::Error(message) when the condition does not hold.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace llm
