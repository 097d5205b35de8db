// lesson::races_reported: ThreadSanitizer calls __tsan_on_report (a hook its runtime declares weak)
// once per report it prints; counting them lets a test fail with a message of its own.
#include "common/race_watch.hpp"

#include <atomic>

namespace {
std::atomic<int> reports{0};
}  // namespace

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_on_report(void*) { reports++; }
#endif

namespace lesson {

int races_reported() { return reports.load(); }

}  // namespace lesson
