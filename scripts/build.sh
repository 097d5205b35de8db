#!/usr/bin/env bash
# Configures and builds glassbox into build/ (Release, -O3 -march=native; pass CMake flags through,
# e.g. scripts/build.sh -DGLASSBOX_NATIVE=OFF for a portable binary).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
echo "build: $(pwd)/build/glassbox"
