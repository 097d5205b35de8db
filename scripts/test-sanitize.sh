#!/usr/bin/env bash
# Runs the fast CPU unit tests (label unit) in a build of the whole tree under AddressSanitizer +
# UndefinedBehaviorSanitizer (-DGLASSBOX_SANITIZE=ON), a second, lean one in build-sanitize/: no
# CUDA (nor its emulation), visualizer or lessons, and of it only the unit test programs. A
# sanitizer report ends the test that triggered it. CI runs the same tests under the same
# sanitizers another way (.ci/run: -DGLASSBOX_SANITIZE_UNIT_TESTS=ON, the unit tests linked
# against llm_sanitized inside the one build).
# Run scripts/install-deps.sh --test first. The build takes 10-20 minutes on 2 cores; extra
# arguments go to CMake (scripts/test-sanitize.sh -DCMAKE_UNITY_BUILD=ON builds in batches, faster).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DGLASSBOX_SANITIZE=ON -DGLASSBOX_WERROR=ON \
  -DGLASSBOX_CUDA=OFF -DGLASSBOX_VIZ=OFF -DGLASSBOX_LESSONS=OFF "$@" >/dev/null
# The programs are named as their ctest entries, but for test_cpu_ops: the suite "cpu" of test_ops.
mapfile -t unit_programs < <(ctest --test-dir build-sanitize -N -L unit |
  sed -n 's/^ *Test *#[0-9]*: \(test_[a-z0-9_]*\)$/\1/p' | sed 's/^test_cpu_ops$/test_ops/')
cmake --build build-sanitize -j"$(nproc)" --target "${unit_programs[@]}"
ctest --test-dir build-sanitize --output-on-failure -L unit -j"$(nproc)"
echo "test-sanitize: unit tests under ASan + UBSan (${#unit_programs[@]} programs) took $((SECONDS - start)) s"
