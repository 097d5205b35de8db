// Key presses on a schedule for tests. See scripted_input.hpp.
#include "visualizer/scripted_input.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <GLFW/glfw3.h>

#include "llm/core/error.hpp"

namespace viz {

namespace {

// One key name, lower case, as its GLFW code; -1 when unknown.
int key_code(const std::string& name) {
  if (name.size() == 1 && name[0] >= 'a' && name[0] <= 'z') return GLFW_KEY_A + (name[0] - 'a');
  if (name.size() == 1 && name[0] >= '0' && name[0] <= '9') return GLFW_KEY_0 + (name[0] - '0');
  if (name.size() >= 2 && name.size() <= 3 && name[0] == 'f' &&
      std::all_of(name.begin() + 1, name.end(), [](char c) { return std::isdigit(c); })) {
    const int n = std::atoi(name.c_str() + 1);
    return n >= 1 && n <= 12 ? GLFW_KEY_F1 + n - 1 : -1;
  }
  static const std::pair<const char*, int> named[] = {{"ctrl", GLFW_KEY_LEFT_CONTROL},
                                                      {"shift", GLFW_KEY_LEFT_SHIFT},
                                                      {"alt", GLFW_KEY_LEFT_ALT},
                                                      {"super", GLFW_KEY_LEFT_SUPER},
                                                      {"esc", GLFW_KEY_ESCAPE},
                                                      {"enter", GLFW_KEY_ENTER},
                                                      {"space", GLFW_KEY_SPACE},
                                                      {"tab", GLFW_KEY_TAB},
                                                      {"backspace", GLFW_KEY_BACKSPACE},
                                                      {"left", GLFW_KEY_LEFT},
                                                      {"right", GLFW_KEY_RIGHT},
                                                      {"up", GLFW_KEY_UP},
                                                      {"down", GLFW_KEY_DOWN}};
  for (const auto& [n, code] : named)
    if (name == n) return code;
  return -1;
}

}  // namespace

bool ScriptedPress::has(int key) const {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

ScriptedPress parse_press(const std::string& text) {
  auto fail = [&](const std::string& why) {
    throw llm::Error("--press '" + text + "': " + why +
                     " (expected KEYS@SECONDS, e.g. ctrl+shift+q@2)");
  };
  const size_t at = text.rfind('@');
  if (at == std::string::npos) fail("no '@SECONDS'");
  ScriptedPress p;
  p.chord = text.substr(0, at);
  const std::string seconds = text.substr(at + 1);
  char* end = nullptr;
  p.at_s = std::strtod(seconds.c_str(), &end);
  if (seconds.empty() || *end != '\0' || !(p.at_s >= 0))
    fail("'" + seconds + "' is not a time >= 0");
  std::string lower = p.chord;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t b = 0;;) {
    const size_t e = std::min(lower.find('+', b), lower.size());
    const std::string name = lower.substr(b, e - b);
    if (name.empty()) fail("empty key name");
    const int code = key_code(name);
    if (code < 0) fail("unknown key '" + name + "'");
    p.keys.push_back(code);
    if (e == lower.size()) break;
    b = e + 1;
  }
  p.chord = lower;
  return p;
}

ScriptedInput::ScriptedInput(std::vector<ScriptedPress> presses) : presses_(std::move(presses)) {
  std::stable_sort(presses_.begin(), presses_.end(),
                   [](const ScriptedPress& a, const ScriptedPress& b) { return a.at_s < b.at_s; });
}

std::vector<ScriptedPress> ScriptedInput::due(double now_s) {
  std::vector<ScriptedPress> out;
  for (; next_ < presses_.size() && presses_[next_].at_s <= now_s; next_++)
    out.push_back(presses_[next_]);
  return out;
}

}  // namespace viz
