#!/usr/bin/env bash
# The Llama-style vs GPT-2-style card (README.md here), end to end from the repository root:
#   bash experiments/llama_vs_gpt2/run.sh [STEPS]     (default 100)
# 1. each variant of VARIANTS below on the shakespeare_char recipe (L4 H4 C128, T64, B12; the
#    schedule shortened to STEPS, warm-up STEPS/20), seeds 1, 2 and 3, val loss on the whole val
#    split at the end (glassbox sweep);
# 2. `glassbox bench` of GPT-2 and Llama on random tokens, alternated ROUNDS times (default 3);
# 3. summary.md: parameters, val loss (mean +- std over the seeds) and ms/step of each variant.
# Needs build/glassbox (or GLASSBOX) and data/cache/shakespeare_char (data/shakespeare_char.sh).
# Reruns skip the finished points (glassbox sweep), so an interrupted card continues.
set -eu
glassbox=${GLASSBOX:-build/glassbox}
steps=${1:-100}
rounds=${ROUNDS:-3}
out=${OUT:-runs/llama_vs_gpt2_$steps}
here=$(dirname "$0")
recipe=experiments/shakespeare_char/config.toml
base=(--config "$recipe" --max-steps "$steps" --lr-decay-steps "$steps"
      --warmup-steps $((steps / 20)) --eval-interval "$steps" --checkpoint-interval 1000000
      --snapshot-interval 0 --log-interval 1000000)
mkdir -p "$out"

# Each variant: a name, then the switches it turns. GPT-2 here has 809,856 parameters (65
# characters). Llama's SwiGLU is 350 wide, which makes up for the biases and wpe it drops (809,216);
# SwiGLU alone is 341 wide, 2/3 of GPT-2's 4C = 512, as Llama sizes it (810,024). llama_qknorm adds
# QK-norm to Llama (OLMo 2, nanochat): RMSNorm gains on each query and key head (+256).
llama="--norm rmsnorm --position rope --mlp swiglu --mlp-hidden 350 --bias false"
VARIANTS=(
  "gpt2"
  "llama $llama"
  "rope --position rope"
  "swiglu --mlp swiglu --mlp-hidden 341"
  "rmsnorm --norm rmsnorm"
  "llama_qknorm $llama --qk-norm true"
)
names=()
for variant in "${VARIANTS[@]}"; do
  read -r -a words <<<"$variant"
  name=${words[0]}
  names+=("$name")
  "$glassbox" info "${base[@]}" "${words[@]:1}" --vocab-size 65 >"$out/$name.info"
  "$glassbox" sweep "${base[@]}" "${words[@]:1}" --grid "seed=1,2,3" --out-dir "$out/$name"
done

# Speed on equal terms: GPT-2 and Llama alternate, so a drift of the machine hits both.
: >"$out/bench.txt"
for round in $(seq 1 "$rounds"); do
  for name in gpt2 llama; do
    flags=()
    [[ $name == llama ]] && read -r -a flags <<<"$llama"
    line=$("$glassbox" bench --config "$recipe" ${flags[@]+"${flags[@]}"} --steps 10 |
      grep '^glassbox ms/step')
    echo "$round $name $line" | tee -a "$out/bench.txt"
  done
done
/usr/bin/python3 "$here/summarize.py" "$out" "$steps" "${names[@]}" | tee "$out/summary.md"
