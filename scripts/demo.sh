#!/usr/bin/env bash
# Watch it learn: trains the character-level shakespeare recipe while glassbox-viz shows the loss,
# the attention and the predictions improving live, then opens story mode on the trained checkpoint.
# Run it after scripts/install-deps.sh (it builds glassbox when build/ has no binaries yet).
#
#   scripts/demo.sh                          the full recipe (2000 steps), then story mode
#   scripts/demo.sh --max-steps 300 --kiosk  a shorter run, then story mode as a kiosk
#   xvfb-run -a scripts/demo.sh --max-steps 10 --screenshot-dir shots
#       headless: a screenshot of the live dashboard while it trains and of story mode after
#
# Options: --max-steps N (default 2000), --run-dir DIR (default runs/demo, replaced),
# --build-dir DIR (default build), --kiosk, --screenshot-dir DIR.
set -euo pipefail
# A relative GLASSBOX_DATA_MIRROR is relative to where the command was typed: pin it before the cd.
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
max_steps=2000
run=runs/demo
build=build
kiosk=()
shots=""
while [ $# -gt 0 ]; do
  case "$1" in
    --max-steps) max_steps=$2; shift 2 ;;
    --run-dir) run=$(realpath -m -- "$2"); shift 2 ;;
    --build-dir) build=$(realpath -m -- "$2"); shift 2 ;;
    --kiosk) kiosk=(--kiosk); shift ;;
    --screenshot-dir) shots=$(realpath -m -- "$2"); shift 2 ;;
    *) echo "demo.sh: error: unknown option $1 (expected --max-steps, --run-dir, --build-dir, --kiosk, --screenshot-dir)" >&2; exit 2 ;;
  esac
done
[[ "$max_steps" =~ ^[1-9][0-9]*$ ]] || { echo "demo.sh: error: --max-steps expects a positive integer, got '$max_steps'" >&2; exit 2; }
cd "$(dirname "$0")/.."
[ -x "$build/glassbox" ] && [ -x "$build/glassbox-viz" ] || bash scripts/build.sh
GLASSBOX="$build/glassbox" bash data/shakespeare_char.sh >/dev/null

# Snapshots and evaluations often enough that the live views move: about 8 of each per run.
every=$(( max_steps >= 8 ? max_steps / 8 : 1 ))
rm -rf "$run"
mkdir -p "$run"
"$build/glassbox" train --config experiments/shakespeare_char/config.toml --out-dir "$run" \
  --max-steps "$max_steps" --lr-decay-steps "$max_steps" --eval-interval "$every" --snapshot-interval "$every" \
  --checkpoint-interval "$every" --log-interval 1 >"$run/train.log" 2>&1 &
trainer=$!
echo "demo: training $max_steps steps into $run (log: $run/train.log)"

if [ -n "$shots" ]; then
  mkdir -p "$shots"
  # The live view: once the first snapshot exists, one screenshot of the dashboard mid-training.
  while kill -0 "$trainer" 2>/dev/null && [ ! -d "$run/snapshots" ]; do sleep 0.5; done
  "$build/glassbox-viz" "$run" --panel dashboard --screenshot "$shots/demo_live.png" --report "$shots/demo_live.json"
  wait "$trainer"
  "$build/glassbox-viz" "$run/checkpoint" --panel story --story-step 3 "${kiosk[@]}" --idle-seconds 600 \
    --prompt "ROMEO:" --screenshot "$shots/demo_story.png" --report "$shots/demo_story.json"
  echo "demo: screenshots in $shots"
  exit 0
fi

# Interactive: the dashboard follows the run live; when training ends, story mode takes over.
"$build/glassbox-viz" "$run" --panel dashboard &
viewer=$!
wait "$trainer"
kill "$viewer" 2>/dev/null || true
wait "$viewer" 2>/dev/null || true
echo "demo: trained; opening story mode on $run/checkpoint"
exec "$build/glassbox-viz" "$run/checkpoint" --panel story "${kiosk[@]}" --prompt "ROMEO:"
