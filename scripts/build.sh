#!/usr/bin/env bash
# Configures and builds glassbox into build/ (Release, -O3 -march=native; pass CMake flags through,
# e.g. scripts/build.sh -DGLASSBOX_NATIVE=OFF for a portable binary). Ninja (apt install
# ninja-build, which scripts/install-deps.sh does) keeps both cores busy to the end of the build;
# without it, or in a build/ configured for Make before, CMake's default generator is used.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null && [ ! -f build/CMakeCache.txt ]; then
  generator=(-G Ninja)
fi
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
echo "build: $(pwd)/build/glassbox"
