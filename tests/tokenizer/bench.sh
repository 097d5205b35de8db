#!/bin/sh
# GPT-2 tokenizer throughput: ours (1 thread, all cores) beside npm gpt-3-encoder, same machine, same run.
#   tests/tokenizer/bench.sh [BUILD_DIR] [bench_gpt2 args: DATA_DIR --mb 20 --reps 3 --no-npm]
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
sh "$here/install.sh"
log=$(mktemp)
cmake --build "$build" --target bench_gpt2 -j2 >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
"$build/tests/bench_gpt2" "$@"
