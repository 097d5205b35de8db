#!/usr/bin/env bash
# Times one training step (forward + backward + AdamW) of glassbox and of PyTorch on this machine,
# same shape, same run, and prints both and the ratio. No hard-coded baseline: the peer runs here.
#
#   experiments/shakespeare_char/bench.sh [STEPS]        the config.toml shape (L4 NH4 C128 T64 B12 V65)
#   experiments/shakespeare_char/bench.sh gpt2 [STEPS]   GPT-2 124M at batch 4, context 64 (V 50257)
#
# ROUNDS (default 5) alternates the two programs, glassbox then PyTorch, ROUNDS times, and reports
# each round's ratio and their median: on a VM whose speed drifts by a third within minutes, only a
# ratio of two timings taken back to back means anything, and the median drops the rounds where
# the machine changed speed between the two.
#
# Environment: GLASSBOX (default build/glassbox), PYTHON (default /usr/bin/python3: the interpreter
# that sees Debian's python3-torch). Threads, as measured fastest on the 2-core dev machine:
# glassbox OMP_NUM_THREADS=2 (Eigen + OpenMP); PyTorch OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1.
# PyTorch must run on OpenBLAS, not Debian's reference BLAS; bench_torch.py checks and says which.
set -euo pipefail
rows=""

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GLASSBOX=${GLASSBOX:-$root/build/glassbox}
PYTHON=${PYTHON:-/usr/bin/python3}
GLASSBOX_THREADS=${GLASSBOX_THREADS:-2}

mode=shakespeare
if [[ "${1:-}" == gpt2 ]]; then
  mode=gpt2
  shift
fi

if [[ ! -x "$GLASSBOX" ]]; then
  echo "bench.sh: no glassbox binary at $GLASSBOX (build it, or set GLASSBOX=path)" >&2
  exit 1
fi

if [[ $mode == gpt2 ]]; then
  steps=${1:-3}
  warmup=1
  glassbox_args=(bench --model gpt2 --batch-size 4 --block-size 64 --steps "$steps" --warmup "$warmup")
  torch_args=(--n-layer 12 --n-head 12 --n-embd 768 --block-size 64 --n-positions 1024
              --batch-size 4 --vocab-size 50257 --steps "$steps" --warmup "$warmup")
else
  steps=${1:-20}
  warmup=3
  config=$here/config.toml
  glassbox_args=(bench --config "$config" --steps "$steps" --warmup "$warmup")
  # The same shape for PyTorch, read from the config (flat TOML, keys as glassbox's flags).
  read -r L NH C T B P < <("$PYTHON" - "$config" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    c = tomllib.load(f)
T = c.get("block_size", 64)
print(c.get("n_layer", 4), c.get("n_head", 4), c.get("n_embd", 128), T, c.get("batch_size", 12),
      c.get("max_seq_len", 0) or T)
EOF
)
  torch_args=(--n-layer "$L" --n-head "$NH" --n-embd "$C" --block-size "$T" --n-positions "$P"
              --batch-size "$B" --vocab-size 65 --steps "$steps" --warmup "$warmup")
fi

ROUNDS=${ROUNDS:-5}
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS: glassbox ${glassbox_args[*]}  (OMP_NUM_THREADS=$GLASSBOX_THREADS)" >&2
  glassbox_out=$(OMP_NUM_THREADS=$GLASSBOX_THREADS "$GLASSBOX" "${glassbox_args[@]}" | tee /dev/stderr)
  echo "== round $round/$ROUNDS: torch bench_torch.py ${torch_args[*]}  (OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1)" >&2
  torch_out=$(OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 "$PYTHON" "$root/tests/reference/bench_torch.py" \
                "${torch_args[@]}" | tee /dev/stderr)
  glassbox_ms=$(sed -n 's/^glassbox ms\/step: \([0-9.]*\).*/\1/p' <<<"$glassbox_out" | tail -1)
  torch_ms=$(sed -n 's/^torch ms\/step: \([0-9.]*\).*/\1/p' <<<"$torch_out" | tail -1)
  if [[ -z "$glassbox_ms" || -z "$torch_ms" ]]; then
    echo "bench.sh: could not read 'glassbox ms/step' or 'torch ms/step' from the output" >&2
    exit 1
  fi
  ratio=$(awk -v t="$torch_ms" -v g="$glassbox_ms" 'BEGIN { printf "%.2f", t / g }')
  ratios+=("$ratio")
  rows+="round $round: glassbox $glassbox_ms ms/step, torch $torch_ms ms/step, ratio $ratio"$'\n'
done
echo
echo "== $mode, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%s" "$rows"
median=$(printf "%s\n" "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { print (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }')
echo "ratio torch/glassbox: median $median over $ROUNDS rounds (above 1: glassbox is faster)"
