#!/usr/bin/env bash
# The Muon vs AdamW card (README.md here), end to end from the repository root:
#   bash experiments/muon_vs_adamw/run.sh [STEPS]       (default 2000: the shakespeare_char recipe)
# 1. a learning-rate sweep per optimizer on seed 1337 (ADAMW_LRS, MUON_LRS override the grids);
# 2. the best rate of each on seeds 1, 2 and 3;
# 3. equal wall time: the ms/step of each, alternated on this machine, and Muon on seeds 1-3 for the
#    steps AdamW's STEPS take;
# 4. summary.md and loss_curves.png.
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

"$glassbox" sweep "${base[@]}" --optimizer adamw --grid "learning_rate=${ADAMW_LRS:-3e-4,1e-3,3e-3,1e-2}" --out-dir "$out/lr_adamw"
"$glassbox" sweep "${base[@]}" --optimizer muon --grid "muon_learning_rate=${MUON_LRS:-0.005,0.01,0.02,0.04}" --out-dir "$out/lr_muon"
adamw_lr=$(/usr/bin/python3 "$here/summarize.py" best "$out/lr_adamw" learning_rate)
muon_lr=$(/usr/bin/python3 "$here/summarize.py" best "$out/lr_muon" muon_learning_rate)
echo "best rates on seed 1337: AdamW learning_rate $adamw_lr, Muon muon_learning_rate $muon_lr"

"$glassbox" sweep "${base[@]}" --optimizer adamw --learning-rate "$adamw_lr" --grid "seed=1,2,3" --out-dir "$out/seeds_adamw"
"$glassbox" sweep "${base[@]}" --optimizer muon --muon-learning-rate "$muon_lr" --grid "seed=1,2,3" --out-dir "$out/seeds_muon"
# Equal wall time, measured fairly: each optimizer's ms/step from 150-step runs alternated three
# times (the machine's load falls on both alike), then Muon on seeds 1-3 with its whole schedule
# shortened to the steps that take as long as AdamW's STEPS.
for round in 1 2 3; do
  for opt in adamw muon; do
    rm -rf "$out/timing/$opt-$round"
    "$glassbox" train "${base[@]}" --max-steps 150 --eval-interval 1000000 --optimizer $opt \
      --learning-rate "$adamw_lr" --muon-learning-rate "$muon_lr" --out-dir "$out/timing/$opt-$round" >/dev/null
  done
done
adamw_ms=$(/usr/bin/python3 "$here/summarize.py" ms_per_step "$out"/timing/adamw-*)
muon_ms=$(/usr/bin/python3 "$here/summarize.py" ms_per_step "$out"/timing/muon-*)
muon_steps=$(/usr/bin/python3 -c "print(round($steps * $adamw_ms / $muon_ms))")
"$glassbox" sweep "${base[@]}" --max-steps "$muon_steps" --lr-decay-steps "$muon_steps" \
  --warmup-steps $((muon_steps / 20)) --eval-interval $((muon_steps / 8)) --optimizer muon \
  --muon-learning-rate "$muon_lr" --grid "seed=1,2,3" --out-dir "$out/equal_time_muon"
{
  echo "STEPS=$steps; AdamW learning_rate $adamw_lr, Muon muon_learning_rate $muon_lr (AdamW lr of its embeddings, gains and biases: the config's learning_rate)"
  echo
  /usr/bin/python3 "$here/summarize.py" compare "$out/seeds_adamw" "$out/seeds_muon"
  echo
  echo "Equal wall time: ms/step alternated 3 x 150 steps: AdamW $adamw_ms, Muon $muon_ms; Muon trained $muon_steps steps (its whole schedule) on seeds 1-3:"
  /usr/bin/python3 "$here/summarize.py" finals "$out/equal_time_muon"
} >"$out/summary.md"
/usr/bin/python3 "$here/summarize.py" plot "$out/seeds_adamw" "$out/seeds_muon" "$out/loss_curves.png"
cat "$out/summary.md"
