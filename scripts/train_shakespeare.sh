#!/usr/bin/env bash
# The main job: install what is missing, build, fetch tinyshakespeare, tokenize it by character,
# train nanoGPT's CPU recipe (experiments/shakespeare_char/config.toml) and print samples.
# Extra arguments go to `glassbox train`, e.g. --max-steps 200.
set -euo pipefail
# A relative GLASSBOX_DATA_MIRROR is relative to where the command was typed: pin it before the cd.
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
GLASSBOX=build/glassbox bash data/shakespeare_char.sh
run=runs/shakespeare_char
if [ -e "$run/metrics.jsonl" ]; then
  mv "$run" "$run.$(date +%Y%m%d-%H%M%S)"   # keep the previous run, start a fresh one
fi
build/glassbox train --config experiments/shakespeare_char/config.toml --out-dir "$run" "$@"
echo
echo "=== samples from $run/checkpoint ==="
build/glassbox sample --ckpt "$run/checkpoint" --prompt "ROMEO:" --max-new-tokens 400 --temperature 0.8 --top-k 200 --seed 1
