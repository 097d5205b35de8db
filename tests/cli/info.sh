#!/usr/bin/env bash
# glassbox info: the figures the docs quote (README, experiments/distributed/README.md), for GPT-2
# 124M, checked against values worked out by hand:
#   parameters   124,439,808 (Hugging Face's count for gpt2, the tied head once)
#   all-reduce   2 (W-1)/W x 474.8 MiB of f32 gradients = 831.0 MiB per rank for W = 8
#   on 8 H100s   415.5 MiB of bf16 traffic at 400 GB/s = 1.09 ms; compute 35.42 ms at B=16, T=1024,
#                40% MFU; without overlap 35.42 / (35.42 + 1.09) = 97.0%; with overlap only part of
#                the 1.09 ms shows (the embeddings' bucket, and ZeRO-1's all-gather)
# Usage: info.sh GLASSBOX
set -u
glassbox=$1
failures=0
expect() {  # expect NAME OUTPUT SUBSTRING
  if grep -qF -- "$3" <<<"$2"; then echo "ok   $1: $3"; else echo "FAIL $1: no '$3' in:"; echo "$2"; failures=$((failures + 1)); fi
}
gpt2=(info --model gpt2 --block-size 1024 --batch-size 16)
one=$("$glassbox" "${gpt2[@]}") || { echo "FAIL glassbox info exited non-zero"; exit 1; }
expect "parameters" "$one" "parameters     124439808"
after=$("$glassbox" "${gpt2[@]}" --world 8 --overlap-comm false) || exit 1
during=$("$glassbox" "${gpt2[@]}" --world 8) || exit 1
zero=$("$glassbox" "${gpt2[@]}" --world 8 --zero-stage 1) || exit 1
expect "all-reduce traffic" "$after" "all-reduced           831.0 MiB"
expect "H100 compute" "$after" "compute           35.42 ms per step"
expect "H100 communication" "$after" "communication      1.09 ms per step"
expect "efficiency after the backward" "$after" "efficiency         97.0 %"
# reduced during the backward: exposed strictly between 0 and 1.09 ms, efficiency above 97.0%
/usr/bin/python3 - "$during" "$zero" <<'PY' || failures=$((failures + 1))
import re, sys
def figures(text):
    exposed = float(re.search(r"exposed\s+([0-9.]+) ms", text).group(1))
    efficiency = float(re.search(r"efficiency\s+([0-9.]+) %", text).group(1))
    return exposed, efficiency
during, zero = figures(sys.argv[1]), figures(sys.argv[2])
ok = 0 < during[0] < 1.09 and during[1] > 97.0 and during[0] < zero[0] < 1.09
print(f"{'ok  ' if ok else 'FAIL'} overlap: exposed {during[0]} ms ({during[1]}%), with ZeRO-1's all-gather {zero[0]} ms ({zero[1]}%)")
sys.exit(0 if ok else 1)
PY
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
