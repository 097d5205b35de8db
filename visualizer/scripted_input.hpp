#pragma once
// defines: viz::ScriptedPress, viz::parse_press, viz::ScriptedInput: key presses on a schedule,
// for tests of kiosk mode (`--press ctrl+shift+q@2`) without a person at the keyboard.
//
// A press is a chord of keys, all down during one frame and up the next, at a time in seconds
// since the app's loop started. The app treats it as it treats the keyboard: the kiosk's quit
// chord sees it, ImGui sees it (so the attract loop counts it as a touch), and Alt+F4 becomes the
// close request a window manager would send.
#include <string>
#include <vector>

namespace viz {

struct ScriptedPress {
  std::string chord;      // as written, e.g. "ctrl+shift+q"
  std::vector<int> keys;  // GLFW key codes, e.g. GLFW_KEY_LEFT_CONTROL
  double at_s = 0;        // seconds after the loop's start
  bool has(int key) const;
};

// Parses "KEYS@SECONDS": keys joined by '+', each a letter, a digit, f1..f12 or one of ctrl,
// shift, alt, super, esc, enter, space, tab, backspace, left, right, up, down (any case).
// Throws llm::Error naming the flag and the text ("--press 'ctrl+@1': empty key name").
ScriptedPress parse_press(const std::string& text);

// The presses of a run, handed out as their time comes.
class ScriptedInput {
 public:
  explicit ScriptedInput(std::vector<ScriptedPress> presses);
  // The presses due by now_s (seconds since the loop's start) not handed out before, in time
  // order; each press is handed out once.
  std::vector<ScriptedPress> due(double now_s);

 private:
  std::vector<ScriptedPress> presses_;  // sorted by time
  size_t next_ = 0;
};

}  // namespace viz
