#!/usr/bin/env bash
# The scaling card (README.md here), end to end, from anywhere:
#   bash experiments/scaling/run.sh
# 1. data/scaling_corpus.sh: the corpus and its 4096-token BPE (once);
# 2. per model size, one `glassbox sweep` over the step counts that spend each compute budget
#    C = 6 N D (N non-embedding parameters, D tokens) on it, keeping only the points that read at
#    most one epoch and train at least MIN_STEPS steps;
# 3. fit.py: results.csv, fit.md and scaling.png here.
# Needs build/glassbox (or GLASSBOX), scripts/install-deps.sh --experiments. Runs go to runs/scaling
# (or OUT); a rerun skips the finished points (glassbox sweep), so an interrupted card continues.
set -euo pipefail
# One thread: these models are so small that two threads' synchronisation costs more than it saves,
# and on a shared machine far more (measured: 41 ms/step on one thread, 677 ms on two, load ~40).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
glassbox="${GLASSBOX:-build/glassbox}"
out="${OUT:-runs/scaling}"
here=experiments/scaling
config="$here/config.toml"

# Non-embedding FLOP budgets, and the size ladder "n_layer n_embd" (heads of 8 channels).
budgets=(2e9 5e9 1.25e10)
sizes=("1 8" "1 16" "1 24" "1 32" "2 32" "2 48")
min_steps=20
batch_size=4
block_size=64
tokens_per_step=$((batch_size * block_size))

GLASSBOX="$glassbox" data/scaling_corpus.sh
# The token count is the third int32 of an llm.c shard header.
shard_tokens() { od -An -t d4 -j 8 -N 4 "$1" | tr -d ' '; }
train_tokens=$(shard_tokens data/cache/scaling/train_000000.bin)
val_tokens=$(shard_tokens data/cache/scaling/val_000000.bin)
val_bytes=$(stat -c %s data/cache/scaling/val.txt)
echo "scaling: $train_tokens train tokens; val: $val_tokens tokens, $val_bytes bytes"

start=$(date +%s)
for size in "${sizes[@]}"; do
  read -r n_layer n_embd <<<"$size"
  # per block 12 C^2 + 13 C, plus the final layernorm (fit.py counts the same way)
  n=$((n_layer * (12 * n_embd * n_embd + 13 * n_embd) + 2 * n_embd))
  steps=()
  for c in "${budgets[@]}"; do
    s=$(awk -v c="$c" -v n="$n" -v t="$tokens_per_step" 'BEGIN { printf "%d", c / (6 * n * t) + 0.5 }')
    # One epoch at most: the last window reads one token past its inputs.
    if ((s >= min_steps && s * tokens_per_step + 1 <= train_tokens)); then steps+=("$s"); fi
  done
  if ((${#steps[@]} == 0)); then
    echo "scaling: n_layer=$n_layer n_embd=$n_embd fits no budget; skipped"
    continue
  fi
  grid="n_layer=$n_layer n_head=$((n_embd / 8)) n_embd=$n_embd max_steps=$(IFS=,; echo "${steps[*]}")"
  echo "scaling: N=$n, grid $grid"
  "$glassbox" sweep --config "$config" --batch-size "$batch_size" --block-size "$block_size" \
    --grid "$grid" --out-dir "$out/L${n_layer}_C${n_embd}"
done
echo "scaling: all sweeps took $(($(date +%s) - start)) s"

# One table: the header of the first sweep, then every sweep's rows.
first=1
for size in "${sizes[@]}"; do
  read -r n_layer n_embd <<<"$size"
  f="$out/L${n_layer}_C${n_embd}/results.csv"
  [[ -f "$f" ]] || continue
  if ((first)); then cat "$f"; first=0; else tail -n +2 "$f"; fi
done >"$here/results.csv"

tokens_per_byte=$(awk -v t="$val_tokens" -v b="$val_bytes" 'BEGIN { printf "%.6f", t / b }')
/usr/bin/python3 "$here/fit.py" --results "$here/results.csv" --tokens-per-byte "$tokens_per_byte" \
  --budgets "$(IFS=,; echo "${budgets[*]}")" --png "$here/scaling.png" --md "$here/fit.md" \
  --json "$out/fit.json"
