#!/usr/bin/env bash
# Everything a GPU machine must show about the CUDA backend, in one run, with a results folder:
#   1. build with the CUDA backend (sm_90a + sm_80),
#   2. the CUDA tests (every kernel against its CPU twin, the model, 10 training steps),
#   3. glassbox bench --device cuda for GPT-2 124M at context 1024, with the per-op table, beside
#      PyTorch's fast path (bf16 autocast, flash attention, fused AdamW, torch.compile) in the same run,
#   4. the shakespeare_char recipe trained on the GPU, then sampled.
# Usage: scripts/gpu_check.sh [RESULTS_DIR]   (default: runs/gpu_check; the device tool passes $OUT)
# Needs the tinyshakespeare mirror for step 4: GLASSBOX_DATA_MIRROR=<folder with tinyshakespeare/>.
set -uo pipefail
cd "$(dirname "$0")/.."
results="${1:-runs/gpu_check}"
mkdir -p "$results"
log() { echo "== $*" | tee -a "$results/summary.txt"; }

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$results/gpu.txt"
log "build"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DGLASSBOX_CUDA=ON -DGLASSBOX_VIZ=OFF >"$results/configure.log" 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" >"$results/build.log" 2>&1
log "build exit $?"

log "tests (ctest -L cuda)"
(cd build-gpu && ctest -L cuda --output-on-failure) >"$results/ctest_cuda.log" 2>&1
log "tests exit $?: $(grep -E 'tests passed|tests failed' "$results/ctest_cuda.log")"
build-gpu/test_cuda_ops -s >"$results/test_cuda_ops_verbose.log" 2>&1

log "bench GPT-2 124M, T=1024"
PYTHON=${PYTHON:-python3}
for B in 8 16 32; do
  build-gpu/glassbox bench --device cuda --model gpt2 --batch-size "$B" --block-size 1024 --steps 20 \
    >"$results/bench_gpt2_B$B.txt" 2>&1
  "$PYTHON" tests/reference/bench_torch.py --device cuda --compile --n-layer 12 --n-head 12 --n-embd 768 \
    --block-size 1024 --batch-size "$B" --vocab-size 50257 --steps 20 --warmup 5 \
    >"$results/bench_torch_gpt2_B$B.txt" 2>&1
  glassbox_ms=$(sed -n 's/^glassbox ms\/step: \([0-9.]*\).*/\1/p' "$results/bench_gpt2_B$B.txt")
  torch_ms=$(sed -n 's/^torch ms\/step: \([0-9.]*\).*/\1/p' "$results/bench_torch_gpt2_B$B.txt")
  log "B=$B: $(grep -E 'MFU' "$results/bench_gpt2_B$B.txt") | glassbox $glassbox_ms ms/step, PyTorch $torch_ms ms/step"
done
log "attention: glassbox vs PyTorch SDPA (FlashAttention layout: 16k tokens, 2048 channels)"
build-gpu/glassbox bench-attention --device cuda >"$results/bench_attention.txt" 2>&1
"$PYTHON" tests/reference/bench_attention_torch.py >"$results/bench_attention_torch.txt" 2>&1
build-gpu/glassbox bench --device cuda --model gpt2 --batch-size 16 --block-size 1024 --steps 5 --profile \
  >"$results/bench_gpt2_profile.txt" 2>&1
log "per-op table in bench_gpt2_profile.txt"

if [ -n "${GLASSBOX_DATA_MIRROR:-}" ]; then
  GLASSBOX_DATA_MIRROR=$(cd "$GLASSBOX_DATA_MIRROR" && pwd)  # absolute: the data scripts change folder
  export GLASSBOX_DATA_MIRROR
  log "shakespeare_char on the GPU"
  GLASSBOX=build-gpu/glassbox bash data/shakespeare_char.sh >"$results/data.log" 2>&1
  build-gpu/glassbox train --device cuda --config experiments/shakespeare_char/config.toml \
    --out-dir runs/gpu_shakespeare >"$results/train_shakespeare_cuda.txt" 2>&1
  log "train exit $?: $(grep -E 'done:' "$results/train_shakespeare_cuda.txt")"
  build-gpu/glassbox sample --device cuda --ckpt runs/gpu_shakespeare/checkpoint --prompt "ROMEO:" \
    --max-new-tokens 200 --seed 1 >"$results/sample_cuda.txt" 2>&1
fi
cat "$results/summary.txt"
