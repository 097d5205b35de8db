#!/usr/bin/env bash
# What scripts/gpu_check.sh does on a machine without a GPU (each GPU stage stops at once with one
# line; the preparation commands name a bad argument), and the loss comparison its stage 3 runs
# (tests/reference/compare_losses.py: a run within the tolerance passes, one step beyond it fails,
# runs over different steps are refused).
# Usage: gpu_check_offline.sh PYTHON
set -u
python=$1
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/expect_error.sh"

if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  echo "skip the no-GPU stage checks: this machine has a GPU"
else
  for stage in 1 2 1+2 3; do
    expect_error "gpu_check.sh $stage without a GPU" "gpu_check.sh: error: no GPU" -- \
      bash "$root/scripts/gpu_check.sh" "$stage" "$work/results"
  done
fi
expect_error "gpu_check.sh llmc on a folder that is not llm.c" "'$work' is not an llm.c checkout" -- \
  bash "$root/scripts/gpu_check.sh" llmc "$work" "$work"
expect_error "gpu_check.sh reference without a glassbox binary" "$work/nothing/glassbox not found" -- \
  bash "$root/scripts/gpu_check.sh" reference "$work/nothing"

compare="$root/tests/reference/compare_losses.py"
printf '{"step": 0, "loss": 10.98}\n{"step": 0, "val_loss": 10.9}\n{"step": 1, "loss": 9.50}\n' >"$work/cpu.jsonl"
printf '{"step": 0, "loss": 10.99}\n{"step": 1, "loss": 9.46}\n' >"$work/close.jsonl"
printf '{"step": 0, "loss": 10.99}\n{"step": 1, "loss": 9.44}\n' >"$work/far.jsonl"
printf '{"step": 0, "loss": 10.99}\n' >"$work/short.jsonl"
if "$python" "$compare" "$work/cpu.jsonl" "$work/close.jsonl" >"$work/out" 2>&1 &&
  grep -q "largest difference 0.04: within 0.05" "$work/out"; then
  echo "ok   compare_losses: a run within 0.05 passes"
else
  fail "compare_losses: a run within 0.05 did not pass: $(cat "$work/out")"
fi
if ! "$python" "$compare" "$work/cpu.jsonl" "$work/far.jsonl" >"$work/out" 2>&1 &&
  grep -q "| 1 | 9.5000 | 9.4400 | -0.0600 |" "$work/out" && grep -q "NOT within 0.05" "$work/out"; then
  echo "ok   compare_losses: a step 0.06 away fails and is shown"
else
  fail "compare_losses: a step 0.06 away did not fail: $(cat "$work/out")"
fi
expect_error "compare_losses: a run without metrics" "$work/none.jsonl: cannot read it" -- \
  "$python" "$compare" "$work/cpu.jsonl" "$work/none.jsonl"
expect_error "compare_losses: runs over different steps" "the runs cover different steps" -- \
  "$python" "$compare" "$work/cpu.jsonl" "$work/short.jsonl"
exit $((failures > 0))
