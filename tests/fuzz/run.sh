#!/usr/bin/env bash
# Runs the fuzz harnesses for longer than CI does: SECONDS of mutated inputs each (default 600),
# every format or only FORMAT (safetensors, shard, llmc, toml, model_config, train_state, tokenizer).
# Builds them first in build/ (AddressSanitizer + UBSan, the host compiler; see tests/fuzz.cmake).
#
#   tests/fuzz/run.sh 3600            # an hour per format
#   tests/fuzz/run.sh 600 tokenizer   # ten minutes of tokenizer files
# A finding stops that harness and leaves its input in build/tests/fuzz_findings/FORMAT/crash-input;
# after the fix, keep it as tests/fuzz/inputs/FORMAT/crash-<what> (see tests/fuzz/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-600}"
only="${2:-}"
formats=(safetensors shard llmc toml model_config train_state tokenizer)
[[ -z "$only" ]] || formats=("$only")
cmake -S "$root" -B "$root/build" >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target "${formats[@]/#/fuzz_}"
status=0
for format in "${formats[@]}"; do
  dict=()
  [[ -f "$root/tests/fuzz/$format.dict" ]] && dict=(--dict "$root/tests/fuzz/$format.dict")
  ASAN_OPTIONS=handle_abort=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 OMP_NUM_THREADS=1 \
    "$root/build/tests/fuzz_$format" --seconds "$seconds" "${dict[@]}" \
    --findings "$root/build/tests/fuzz_findings/$format" "$root/tests/fuzz/inputs/$format" ||
    { echo "FINDING in $format: build/tests/fuzz_findings/$format/crash-input"; status=1; }
done
exit $status
