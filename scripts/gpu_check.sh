#!/usr/bin/env bash
# What a GPU machine must show about the CUDA backend, in stages sized for short GPU time: build on
# any machine with nvcc (no GPU needed), copy the small bundle of binaries to the GPU machine, run the
# stages there. Each stage writes its logs and a results table (results_stageN.md) to RESULTS_DIR.
#
#   scripts/gpu_check.sh build [BUNDLE]       no GPU needed: build-gpu/ with the CUDA backend, then the
#                                             binaries into BUNDLE (default build-gpu-bundle/, < 64 MiB)
#   scripts/gpu_check.sh llmc LLMC [BUNDLE]   no GPU needed, after build: llm.c's train_gpt2cu from the
#                                             checkout LLMC (karpathy/llm.c), patched for CUDA 13 in a
#                                             temporary copy, into BUNDLE; stage 2 then times it
#   scripts/gpu_check.sh reference [BUNDLE]   no GPU needed, after build: 20 f32 CPU training steps of
#                                             GPT-2 124M on tinyshakespeare, whose losses stage 3
#                                             compares the GPU's with (a few minutes on 2 cores)
#   scripts/gpu_check.sh 1 RESULTS [BUNDLE]   correctness, at most 3.5 min: every CUDA test against
#                                             its CPU twin, compute-sanitizer memcheck on the op tests,
#                                             racecheck on the kernels with shared memory (small shapes)
#   scripts/gpu_check.sh 2 RESULTS [BUNDLE]   speed, at most 5.5 min: GPT-2 124M at T = 1024, B = 8/16/32
#                                             (tokens/s, MFU), the per-op profile, attention TFLOP/s,
#                                             llm.c and PyTorch's fast path at the same shapes beside each
#   scripts/gpu_check.sh 1+2 RESULTS [BUNDLE] both, in one command of under 9.5 minutes
#   scripts/gpu_check.sh 3 RESULTS [BUNDLE]   the reference's 20 steps on the GPU, compared, and again
#                                             with --comm nccl; transformers loading our checkpoints;
#                                             the shakespeare_char recipe trained on the GPU, sampled;
#                                             at most 9 min; needs data/cache/{tinyshakespeare,gpt2}
#                                             or GLASSBOX_DATA_MIRROR
#
# Every step has its own time limit, so a stage never runs past its budget; a step that hits it is
# recorded as "timed out". Without a GPU every stage but build, llmc and reference stops at once with
# one line.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative GLASSBOX_DATA_MIRROR is relative to where the command was typed: pin it before the cd.
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
cd "$root"

usage() {
  sed -n '5,26p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "gpu_check.sh: error: $*" >&2
  exit 1
}
binaries=(glassbox test_ops test_nccl_comm)

build_bundle() {
  local bundle="${1:-build-gpu-bundle}"
  command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] ||
    die "nvcc not found: the build stage needs the CUDA toolkit (PATH or /usr/local/cuda/bin)"
  export PATH="$PATH:/usr/local/cuda/bin"
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DGLASSBOX_CUDA=ON -DGLASSBOX_VIZ=OFF \
    -DGLASSBOX_NATIVE=OFF -DGLASSBOX_LESSONS=OFF >/dev/null || die "configure failed (cmake -S . -B build-gpu)"
  cmake --build build-gpu -j"$(nproc)" --target "${binaries[@]}" || die "build failed"
  rm -rf "$bundle" && mkdir -p "$bundle"
  cp build-gpu/glassbox build-gpu/tests/test_ops build-gpu/tests/test_nccl_comm "$bundle"/
  strip --strip-unneeded "$bundle"/* 2>/dev/null
  local mib=$(( $(du -sk "$bundle" | cut -f1) / 1024 ))
  ((mib < 64)) || die "$bundle is $mib MiB, over the 64 MiB a copy to the GPU machine may take"
  echo "gpu_check.sh: $bundle ($mib MiB): ${binaries[*]}; copy it to the GPU machine beside the checkout"
}

# llm.c's GPT-2 trainer, the yardstick for glassbox's speed on a GPU, built from a copy of a checkout
# (never into this repository). Without nvml.h here it builds without NVML's clock readings; without
# the cudnn-frontend headers, without cuDNN attention (llm.c's default build has neither).
build_llmc() {
  local source="${1:-}" bundle="${2:-build-gpu-bundle}"
  [[ -f "$source/train_gpt2.cu" && -f "$source/llmc/cuda_utils.cuh" ]] ||
    die "'$source' is not an llm.c checkout (no train_gpt2.cu and llmc/cuda_utils.cuh)"
  [[ -d "$bundle" ]] || die "$bundle not found: run scripts/gpu_check.sh build first"
  export PATH="$PATH:/usr/local/cuda/bin"
  command -v nvcc >/dev/null || die "nvcc not found: building llm.c needs the CUDA toolkit"
  local work
  work=$(mktemp -d)
  cp -r "$source/train_gpt2.cu" "$source/llmc" "$work"/
  # CUDA 13's cudaMemAdvise takes a cudaMemLocation where CUDA 12's took a device id.
  sed -i 's/cudaMemAdviseSetPreferredLocation, cudaCpuDeviceId)/cudaMemAdviseSetPreferredLocation, cudaMemLocation{cudaMemLocationTypeHost, 0})/' \
    "$work/llmc/cuda_utils.cuh"
  # llm.c's Makefile flags for one GPU without cuDNN, for Hopper (H100, H200).
  nvcc -O3 -t=0 --threads=0 --use_fast_math -std=c++17 \
    --generate-code "arch=compute_90,code=[compute_90,sm_90]" -I"$work" "$work/train_gpt2.cu" \
    -lcublas -lcublasLt -o "$bundle/train_gpt2cu" || die "building llm.c's train_gpt2.cu failed"
  rm -rf "$work"
  strip --strip-unneeded "$bundle/train_gpt2cu" 2>/dev/null
  echo "gpu_check.sh: $bundle/train_gpt2cu ($(du -k "$bundle/train_gpt2cu" | cut -f1) KiB)"
}

# The one short GPT-2 124M run that the CPU (f32) and the GPU (bf16) both train: the same
# initialisation (drawn on the host from the seed), the same batches. The learning rate is 2e-4 from
# the first step: a warm-up from a tiny rate gives updates below bf16's spacing of the weights,
# which the f32 run makes and the bf16 run rounds away (kernels/README.md has the measurements).
reference_run=(train --model gpt2 --train-data data/cache/shakespeare_gpt2/train_000000.bin
  --val-data data/cache/shakespeare_gpt2/val_000000.bin --eval-batches 1 --eval-interval 1000
  --batch-size 4 --block-size 128 --max-steps 20 --learning-rate 2e-4 --warmup-steps 0
  --log-interval 1 --layer-stats-interval 0 --checkpoint-interval 1000 --seed 1337)

cpu_reference() {
  local bundle="${1:-build-gpu-bundle}"
  local glassbox="${GLASSBOX:-$bundle/glassbox}"
  [[ -x "$glassbox" ]] || die "$glassbox not found: run scripts/gpu_check.sh build first (or set GLASSBOX)"
  GLASSBOX="$glassbox" bash data/shakespeare_gpt2.sh >/dev/null || die "data/shakespeare_gpt2.sh failed"
  rm -rf runs/gpu_check_reference_cpu
  "$glassbox" "${reference_run[@]}" --device cpu --out-dir runs/gpu_check_reference_cpu ||
    die "the CPU reference run failed"
  mkdir -p "$bundle" && cp runs/gpu_check_reference_cpu/metrics.jsonl "$bundle/reference_losses_cpu.jsonl"
  echo "gpu_check.sh: $bundle/reference_losses_cpu.jsonl: the CPU's losses for stage 3"
}

[[ $# -ge 1 ]] || usage
stage="$1"
case "$stage" in
  build) build_bundle "${2:-}" && exit ;;
  llmc) build_llmc "${2:-}" "${3:-}" && exit ;;
  reference) cpu_reference "${2:-}" && exit ;;
esac
[[ "$stage" =~ ^(1|2|3|1\+2)$ ]] || usage
[[ $# -ge 2 ]] || usage
results="$2"
bundle="${3:-build-gpu-bundle}"
python="${PYTHON:-python3}"  # the Python of the peers and checks (PyTorch, transformers)

# Fail fast, in one line, where nothing could run.
command -v nvidia-smi >/dev/null || die "no GPU here (nvidia-smi not found): stage $stage needs an NVIDIA GPU"
gpu_name=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[[ -n "$gpu_name" ]] || die "no GPU visible (nvidia-smi lists none): stage $stage needs an NVIDIA GPU"
for b in "${binaries[@]}"; do
  [[ -x "$bundle/$b" ]] || die "$bundle/$b not found: run scripts/gpu_check.sh build first (on any machine with nvcc)"
done
missing=$(ldd "$bundle/glassbox" | grep "not found")
[[ -z "$missing" ]] || die "$bundle/glassbox cannot load its libraries: $(echo "$missing" | tr -s ' \n' ' ')"
mkdir -p "$results"

# step NAME SECONDS LOG COMMAND...: run one step under its time limit, add a row to the stage's table.
table=""
step() {
  local name="$1" limit="$2" log="$3"
  shift 3
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$results/$log" 2>&1
  local rc=$? verdict
  case $rc in
    0) verdict=pass ;;
    124 | 137) verdict="timed out after ${limit} s" ;;
    *) verdict="fail (exit $rc)" ;;
  esac
  printf '| %s | %s | %d s | %s |\n' "$name" "$verdict" $((SECONDS - start)) "$log" | tee -a "$table"
}
begin_table() {
  table="$results/results_stage$1.md"
  {
    echo "# gpu_check stage $1 on $gpu_name ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "| step | result | time | log |"
    echo "| --- | --- | --- | --- |"
  } >"$table"
}

# tinyshakespeare in GPT-2 tokens (data/cache/shakespeare_gpt2/): llm.c's input in stage 2, the
# reference run's in stage 3.
gpt2_tokens_step() {
  step "data: tinyshakespeare, GPT-2 tokens" 20 data_gpt2.log \
    env GLASSBOX="$bundle/glassbox" bash data/shakespeare_gpt2.sh
}

# The limits below add up to 535 s for stages 1+2 (under 9.5 minutes with the start-up checks) and
# 520 s for stage 3.
stage_1() {
  begin_table 1
  nvidia-smi >"$results/nvidia-smi.txt" 2>&1
  step "CUDA ops, model and 10 AdamW steps vs the CPU (test_cuda_ops)" 80 test_cuda_ops.log "$bundle/test_ops" -ts=cuda
  step "NcclComm on one GPU (test_nccl_comm)" 30 test_nccl_comm.log "$bundle/test_nccl_comm"
  if command -v compute-sanitizer >/dev/null; then
    step "memcheck: every op test (compute-sanitizer)" 55 memcheck.log \
      compute-sanitizer --tool memcheck --error-exitcode 3 "$bundle/test_ops" -ts=cuda -tce="cuda GPT*"
    step "racecheck: the kernels with shared memory" 45 racecheck.log \
      compute-sanitizer --tool racecheck --error-exitcode 3 "$bundle/test_ops" -ts=cuda \
      -tc="cuda layernorm*,cuda attention*,cuda classifier*,cuda sum_of_squares*"
  else
    printf '| compute-sanitizer | not run: not installed | | |\n' | tee -a "$table"
  fi
}

stage_2() {
  begin_table 2
  local torch_ok=1
  "$python" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || torch_ok=0
  local gpt2_shape=(--n-layer 12 --n-head 12 --n-embd 768 --block-size 1024 --vocab-size 50257)
  for B in 8 16 32; do
    step "glassbox GPT-2 124M, T=1024, B=$B" 30 "bench_gpt2_B$B.txt" \
      "$bundle/glassbox" bench --device cuda --model gpt2 --batch-size "$B" --block-size 1024 --steps 20
    if ((torch_ok)); then
      step "PyTorch bf16 autocast + SDPA + fused AdamW, B=$B" 20 "bench_torch_gpt2_B$B.txt" \
        "$python" tests/reference/bench_torch.py --device cuda "${gpt2_shape[@]}" --batch-size "$B" --steps 20 --warmup 5
    fi
  done
  if ((!torch_ok)); then
    printf '| PyTorch peer | not run: no PyTorch with CUDA | | |\n' | tee -a "$table"
  fi
  # llm.c on the same GPU, random GPT-2 124M weights (-e d12), one micro-batch per step, its default
  # recomputation of GELU, 30 steps; it prints tokens/s and MFU per step.
  if [[ -x "$bundle/train_gpt2cu" ]]; then
    gpt2_tokens_step
    local shard=data/cache/shakespeare_gpt2/train_000000.bin
    for B in 8 16 32; do
      step "llm.c train_gpt2cu GPT-2 124M, T=1024, B=$B" 25 "llmc_gpt2_B$B.txt" \
        "$bundle/train_gpt2cu" -i "$shard" -j "$shard" -e d12 -b "$B" -t 1024 -d $((B * 1024)) \
        -x 30 -v 1000 -m 1 -s 0 -h 0
    done
  else
    printf '| llm.c peer | not run: no train_gpt2cu in %s (scripts/gpu_check.sh llmc) | | |\n' \
      "$bundle" | tee -a "$table"
  fi
  step "per-op profile, B=16" 30 bench_gpt2_profile.txt \
    "$bundle/glassbox" bench --device cuda --model gpt2 --batch-size 16 --block-size 1024 --steps 5 --profile
  step "attention TFLOP/s (FlashAttention layout)" 25 bench_attention.txt "$bundle/glassbox" bench-attention --device cuda
  if ((torch_ok)); then
    step "PyTorch SDPA attention" 25 bench_attention_torch.txt "$python" tests/reference/bench_attention_torch.py
  fi
  {
    echo
    echo "| B | glassbox | llm.c (its last step) | PyTorch |"
    echo "| --- | --- | --- | --- |"
    for B in 8 16 32; do
      echo "| $B | $(grep -h -E 'ms/step|MFU' "$results/bench_gpt2_B$B.txt" 2>/dev/null | tr '\n' ' ') |" \
        "$(grep -h '^step' "$results/llmc_gpt2_B$B.txt" 2>/dev/null | tail -1) |" \
        "$(grep -h 'ms/step' "$results/bench_torch_gpt2_B$B.txt" 2>/dev/null | tr '\n' ' ') |"
    done
  } >>"$table"
}

stage_3() {
  begin_table 3
  if [[ -f "$bundle/reference_losses_cpu.jsonl" ]]; then
    gpt2_tokens_step
    rm -rf runs/gpu_check_reference_cuda
    step "the CPU reference's 20 steps of GPT-2 124M on the GPU" 60 reference_cuda.txt \
      "$bundle/glassbox" "${reference_run[@]}" --device cuda --out-dir runs/gpu_check_reference_cuda
    step "its losses within 0.05 of the CPU's (f32) at every step" 10 reference_compare.md \
      "$python" tests/reference/compare_losses.py "$bundle/reference_losses_cpu.jsonl" \
      runs/gpu_check_reference_cuda/metrics.jsonl --tolerance 0.05
    # The whole NcclComm path on one GPU (an NCCL id, a communicator of one rank, the gradients
    # reduced on the second stream during the backward): the same bits as without it.
    rm -rf runs/gpu_check_reference_nccl
    step "the same 20 steps with --comm nccl (one rank)" 60 reference_nccl.txt \
      "$bundle/glassbox" "${reference_run[@]}" --device cuda --comm nccl --out-dir runs/gpu_check_reference_nccl
    step "its metrics equal to the run without NCCL, bit for bit" 10 reference_nccl_compare.txt \
      "$python" tests/cli/same_history.py runs/gpu_check_reference_cuda runs/gpu_check_reference_nccl
  else
    printf '| GPU vs CPU losses | not run: no reference_losses_cpu.jsonl in %s (scripts/gpu_check.sh reference) | | |\n' \
      "$bundle" | tee -a "$table"
  fi
  if "$python" -c "import transformers" 2>/dev/null; then
    step "transformers loads glassbox's GPT-2 and Llama checkpoints, the same loss" 60 \
      transformers_check.txt "$python" tests/reference/transformers_check.py \
      --glassbox "$bundle/glassbox" --workdir runs/gpu_check_transformers
  else
    printf '| transformers check | not run: no transformers for %s | | |\n' "$python" |
      tee -a "$table"
  fi
  step "data: tinyshakespeare, tokenized by character" 30 data.log \
    env GLASSBOX="$bundle/glassbox" bash data/shakespeare_char.sh
  step "train the shakespeare_char recipe on the GPU" 240 train_shakespeare_cuda.txt \
    "$bundle/glassbox" train --device cuda --config experiments/shakespeare_char/config.toml --out-dir runs/gpu_shakespeare
  step "sample 200 tokens on the GPU" 30 sample_cuda.txt \
    "$bundle/glassbox" sample --device cuda --ckpt runs/gpu_shakespeare/checkpoint --prompt "ROMEO:" \
    --max-new-tokens 200 --seed 1
  echo "val loss: $(grep -h -m1 'done:' "$results/train_shakespeare_cuda.txt")" >>"$table"
}

case "$stage" in
  1) stage_1 ;;
  2) stage_2 ;;
  1+2) stage_1 && stage_2 ;;
  3) stage_3 ;;
esac
cat "$results"/results_stage*.md
