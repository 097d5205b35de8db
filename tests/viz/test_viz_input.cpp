// viz::parse_press and viz::ScriptedInput: the scheduled key presses of kiosk tests. (GLFW is
// used for its key codes only: <GLFW/glfw3.h> from the system include path, no library.)
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <GLFW/glfw3.h>

#include "llm/core/error.hpp"
#include "visualizer/scripted_input.hpp"

TEST_CASE("a chord and its time") {
  const viz::ScriptedPress p = viz::parse_press("Ctrl+Shift+Q@2.5");
  CHECK(p.chord == "ctrl+shift+q");
  CHECK(p.at_s == 2.5);
  REQUIRE(p.keys.size() == 3);
  CHECK(p.keys[0] == GLFW_KEY_LEFT_CONTROL);
  CHECK(p.keys[1] == GLFW_KEY_LEFT_SHIFT);
  CHECK(p.keys[2] == GLFW_KEY_Q);
  CHECK(p.has(GLFW_KEY_Q));
  CHECK_FALSE(p.has(GLFW_KEY_ESCAPE));
  CHECK(viz::parse_press("alt+f4@0").keys == std::vector<int>{GLFW_KEY_LEFT_ALT, GLFW_KEY_F4});
  CHECK(viz::parse_press("f12@1").keys == std::vector<int>{GLFW_KEY_F12});
  CHECK(viz::parse_press("esc@1").keys == std::vector<int>{GLFW_KEY_ESCAPE});
  CHECK(viz::parse_press("7@1").keys == std::vector<int>{GLFW_KEY_7});
}

TEST_CASE("malformed presses name the flag and the text") {
  for (const char* bad :
       {"ctrl+q", "ctrl+q@", "ctrl+q@-1", "ctrl+q@soon", "ctrl+@1", "hyper+q@1", "f13@1", "@1"}) {
    CAPTURE(bad);
    std::string message;
    try {
      viz::parse_press(bad);
    } catch (const llm::Error& e) { message = e.what(); }
    CHECK(message.find(std::string("--press '") + bad + "': ") == 0);
  }
}

TEST_CASE("presses are handed out once, in time order, when due") {
  viz::ScriptedInput input(
      {viz::parse_press("b@2"), viz::parse_press("a@1"), viz::parse_press("c@2")});
  CHECK(input.due(0.5).empty());
  auto first = input.due(1.0);
  REQUIRE(first.size() == 1);
  CHECK(first[0].chord == "a");
  CHECK(input.due(1.5).empty());
  auto both = input.due(10);
  REQUIRE(both.size() == 2);
  CHECK(both[0].chord == "b");
  CHECK(both[1].chord == "c");
  CHECK(input.due(20).empty());
}
