#!/usr/bin/env bash
# The Muon vs AdamW card (README.md here), end to end from the repository root:
#   bash experiments/muon_vs_adamw/run.sh [STEPS]       (default 2000: the shakespeare_char recipe)
# 1. a learning-rate sweep per optimizer on seed 1337 (ADAMW_LRS, MUON_LRS override the grids);
# 2. the best rate of each on seeds 1, 2 and 3;
# 3. summary.md: val loss at equal steps and at equal training time.
# Needs build/glassbox (or GLASSBOX) and data/cache/shakespeare_char (data/shakespeare_char.sh).
# Reruns skip the finished points (glassbox sweep), so an interrupted card continues.
set -eu
glassbox=${GLASSBOX:-build/glassbox}
steps=${1:-2000}
out=${OUT:-runs/muon_vs_adamw_$steps}
here=$(dirname "$0")
base=(--config experiments/shakespeare_char/config.toml --max-steps "$steps" --lr-decay-steps "$steps"
      --warmup-steps $((steps / 20)) --eval-interval $((steps / 8)) --checkpoint-interval 1000000
      --snapshot-interval 0 --log-interval 1000000)

"$glassbox" sweep "${base[@]}" --optimizer adamw --grid "learning_rate=${ADAMW_LRS:-3e-4,1e-3,3e-3}" --out-dir "$out/lr_adamw"
"$glassbox" sweep "${base[@]}" --optimizer muon --grid "muon_learning_rate=${MUON_LRS:-0.01,0.02,0.04}" --out-dir "$out/lr_muon"
adamw_lr=$(/usr/bin/python3 "$here/summarize.py" best "$out/lr_adamw" learning_rate)
muon_lr=$(/usr/bin/python3 "$here/summarize.py" best "$out/lr_muon" muon_learning_rate)
echo "best rates on seed 1337: AdamW learning_rate $adamw_lr, Muon muon_learning_rate $muon_lr"

"$glassbox" sweep "${base[@]}" --optimizer adamw --learning-rate "$adamw_lr" --grid "seed=1,2,3" --out-dir "$out/seeds_adamw"
"$glassbox" sweep "${base[@]}" --optimizer muon --muon-learning-rate "$muon_lr" --grid "seed=1,2,3" --out-dir "$out/seeds_muon"
{
  echo "STEPS=$steps; AdamW learning_rate $adamw_lr, Muon muon_learning_rate $muon_lr (AdamW lr of its embeddings, gains and biases: the config's learning_rate)"
  echo
  /usr/bin/python3 "$here/summarize.py" compare "$out/seeds_adamw" "$out/seeds_muon"
} >"$out/summary.md"
cat "$out/summary.md"
