#!/usr/bin/env bash
# The GPT-2 124M card's config, scaled down to seconds on a CPU: the same file and code path (ZeRO-1,
# sequential data, llm.c's schedule and AdamW settings, the val loss and HellaSwag every few steps,
# the final checkpoint, then `glassbox eval --task hellaswag` on it), on tinyshakespeare in GPT-2
# tokens with a 2-layer, 64-channel model, and HellaSwag on the six-question tests/hellaswag/tiny.jsonl.
#
#   experiments/gpt2_124m/smoke.sh [PATH/TO/glassbox] [WORK_DIR]
#
# Makes data/cache/shakespeare_gpt2 with data/shakespeare_gpt2.sh when it is missing (which needs
# data/cache/tinyshakespeare and data/cache/gpt2, or GLASSBOX_DATA_MIRROR). Exits non-zero when a
# check fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
glassbox="$(realpath "${1:-build/glassbox}")"
work="${2:-$(mktemp -d)}"
rm -rf "$work/run"
mkdir -p "$work"
if ! compgen -G "data/cache/shakespeare_gpt2/train_*.bin" >/dev/null; then
  GLASSBOX="$glassbox" data/shakespeare_gpt2.sh >/dev/null
fi

"$glassbox" train --config experiments/gpt2_124m/config.toml \
  --model "" --n-layer 2 --n-head 2 --n-embd 64 --block-size 64 \
  --batch-size 2 --grad-accum 2 --max-steps 6 --warmup-steps 2 --lr-decay-steps 6 \
  --train-data "data/cache/shakespeare_gpt2/train_*.bin" --val-data "data/cache/shakespeare_gpt2/val_*.bin" \
  --eval-interval 3 --eval-batches 2 --hellaswag-interval 3 --hellaswag-data tests/hellaswag/tiny.jsonl \
  --layer-stats-interval 3 --log-interval 1 --device cpu --out-dir "$work/run" | tee "$work/train.log"

"$glassbox" eval --ckpt "$work/run/checkpoint" --task hellaswag --data tests/hellaswag/tiny.jsonl \
  --predictions "$work/predictions.jsonl" --out "$work/hellaswag.json" | tee "$work/eval.log"

/usr/bin/python3 - "$work" <<'PY'
import json, math, sys
work = sys.argv[1]
lines = [json.loads(l) for l in open(f"{work}/run/metrics.jsonl")]
train = [l for l in lines if "loss" in l]
hs = [l for l in lines if "hellaswag_acc" in l]
failures = []
if [l["step"] for l in train] != list(range(6)): failures.append("want training steps 0..5")
if not all(math.isfinite(l["loss"]) for l in train): failures.append("a loss is not finite")
if [l["step"] for l in hs] != [0, 3, 6]: failures.append(f"HellaSwag at steps {[l['step'] for l in hs]}, want 0, 3, 6")
if any(l["hellaswag_examples"] != 6 for l in hs): failures.append("want 6 HellaSwag examples")
final = json.load(open(f"{work}/hellaswag.json"))
if (final["acc"], final["acc_norm"]) != (hs[-1]["hellaswag_acc"], hs[-1]["hellaswag_acc_norm"]):
    failures.append(f"eval of the checkpoint {final} differs from the run's last HellaSwag {hs[-1]}")
if sum(1 for _ in open(f"{work}/predictions.jsonl")) != 6: failures.append("want 6 predictions")
val = [l["val_loss"] for l in lines if "val_loss" in l]
print(f"smoke: train loss {train[0]['loss']:.4f} -> {train[-1]['loss']:.4f}, final val loss {val[-1]:.4f}, "
      f"HellaSwag acc {final['acc']:.4f} acc_norm {final['acc_norm']:.4f} on {final['examples']} examples")
for f in failures: print("FAIL", f)
sys.exit(1 if failures else 0)
PY
