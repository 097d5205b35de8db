#pragma once
// defines: lesson::races_reported
//
// The CUDA lessons' tests run their kernels on the CPU emulation of CUDA built with ThreadSanitizer
// (lessons/CMakeLists.txt): every CUDA thread is a fiber with a history of its own, ordered only by
// the barriers, so two threads of a block that touch one location with no __syncthreads() between
// them, one of them writing, are a data race that ThreadSanitizer reports (with both lines of the
// kernel). The tests count those reports around each launch to turn them into a failed check. Built
// without ThreadSanitizer (a GPU build, or a -DGLASSBOX_SANITIZE=ON build) the count stays 0: on a
// GPU, `compute-sanitizer --tool racecheck` finds the same races.
namespace lesson {

// How many data races ThreadSanitizer has reported so far in this process.
int races_reported();

}  // namespace lesson
