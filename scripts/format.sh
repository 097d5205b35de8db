#!/usr/bin/env bash
# Formats every tracked C++ and CUDA file with clang-format 14 and the rules in .clang-format.
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list each unformatted file and fail if there is one
# Version 14 is pinned (Debian 12's): other versions lay out some constructs differently.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || true)
if [ -z "$format" ]; then
  echo "format: clang-format-14 not found (scripts/install-deps.sh --test installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h')
if [ "${1:-}" != "--check" ]; then
  "$format" -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
# One clang-format process for every file (one per file took 40 s of CPU); each difference is a
# "FILE:LINE:COL: error: code should be clang-formatted" line.
status=0
report=$("$format" --dry-run --Werror "${files[@]}" 2>&1) || status=$?
mapfile -t unformatted < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
  <<<"$report" | sort -u)
if [ "$status" -ne 0 ] && [ ${#unformatted[@]} -eq 0 ]; then
  echo "$report" >&2
  echo "format: clang-format-14 failed (exit $status)" >&2
  exit 1
fi
if [ ${#unformatted[@]} -gt 0 ]; then
  printf 'format: not formatted: %s\n' "${unformatted[@]}" >&2
  echo "format: ${#unformatted[@]} of ${#files[@]} files differ from .clang-format; run scripts/format.sh" >&2
  exit 1
fi
echo "format: all ${#files[@]} files formatted"
