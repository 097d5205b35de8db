#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages glassbox needs that are missing (apt; sudo when not root).
#   scripts/install-deps.sh          what building and training need
#   scripts/install-deps.sh --test   plus what the tests need (PyTorch, Node.js, Xvfb, ...)
#   scripts/install-deps.sh --experiments   plus what the experiment cards need (their corpora, plots)
# The flags combine (--test --experiments).
set -euo pipefail

test=0
experiments=0
for flag in "$@"; do
  case "$flag" in
    --test) test=1 ;;
    --experiments) experiments=1 ;;
    *)
      echo "install-deps: error: unknown flag '$flag' (expected --test and/or --experiments)" >&2
      exit 2
      ;;
  esac
done

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  ninja-build          # the build tool scripts/build.sh drives (keeps every core busy)
  libeigen3-dev        # CPU reference math
  libcli11-dev         # the CLI
  libtomlplusplus-dev  # its TOML config files, parsed strictly (duplicate keys, unterminated strings)
  nlohmann-json3-dev   # JSON: config.json, safetensors headers, metrics.jsonl
  libpcre2-dev         # the GPT-2 pre-tokenizer regex
  libimgui-dev libglfw3-dev libstb-dev libgl1-mesa-dev   # glassbox-viz
  libopenmpi-dev openmpi-bin   # data-parallel training over MPI
  python3              # the build generates llm/backend/forwarding_backend.hpp (scripts/gen_forwarding_backend.py)
)
if [ "$test" = 1 ]; then
  packages+=(
    doctest-dev                           # C++ test suites
    python3 python3-torch python3-numpy   # the independent PyTorch reference (tests/reference)
    libopenblas0-pthread                  # a real BLAS for PyTorch in the CPU benchmark
    xvfb xauth libgl1-mesa-dri            # glassbox-viz screenshots under a virtual display
    strace                                # the fault-injection test kills runs at chosen syscalls
    clang-format-14                       # the format check (version pinned: layouts differ)
  )
  # gpt-3-encoder, the tokenizer's reference implementation, runs on any Node.js already present
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi
if [ "$experiments" = 1 ]; then
  packages+=(
    bible-kjv-text bible-kjv   # the King James Bible (public domain) and its reader: the scaling card's corpus
    python3 python3-numpy python3-matplotlib   # the scaling card's fit and figure
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
