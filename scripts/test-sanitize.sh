#!/usr/bin/env bash
# Runs the fast CPU unit tests (label unit) under AddressSanitizer + UndefinedBehaviorSanitizer, as
# CI does (-DGLASSBOX_SANITIZE_UNIT_TESTS=ON: the unit test programs linked against llm_sanitized),
# in a lean build of its own in build-sanitize/: no CUDA, visualizer or lessons, and of it only the
# unit test programs. A sanitizer report ends the test that triggered it.
# Run scripts/install-deps.sh --test first. For the whole tree under the sanitizers (the glassbox
# binary too), configure a build with -DGLASSBOX_SANITIZE=ON instead.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DGLASSBOX_SANITIZE_UNIT_TESTS=ON \
  -DGLASSBOX_WERROR=ON -DGLASSBOX_CUDA=OFF -DGLASSBOX_VIZ=OFF -DGLASSBOX_LESSONS=OFF >/dev/null
# The programs are named as their ctest entries, but for test_cpu_ops: the suite "cpu" of test_ops.
mapfile -t unit_programs < <(ctest --test-dir build-sanitize -N -L unit |
  sed -n 's/^ *Test *#[0-9]*: \(test_[a-z0-9_]*\)$/\1/p' | sed 's/^test_cpu_ops$/test_ops/')
cmake --build build-sanitize -j"$(nproc)" --target "${unit_programs[@]}"
ctest --test-dir build-sanitize --output-on-failure -L unit -j"$(nproc)"
echo "test-sanitize: unit tests under ASan + UBSan (${#unit_programs[@]} programs) took $((SECONDS - start)) s"
