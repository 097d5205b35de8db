#!/usr/bin/env bash
# Shards are tied to the tokenizer that wrote them, across tokenizer kinds: a GPT-2 model refuses
# char shards (whose ids all lie inside GPT-2's vocabulary, so only the shard's stamp tells them
# apart), and a run on GPT-2 shards refuses char validation shards. Each error names both.
# bad_inputs.sh covers the same checks between two char tokenizers.
# Usage: tokenizer_mismatch.sh PATH/TO/glassbox   (needs data/cache/gpt2: data/fetch.sh gpt2)
set -u
glassbox=$1
gpt2_files="$(cd "$(dirname "$0")/../.." && pwd)/data/cache/gpt2"
[ -f "$gpt2_files/encoder.json" ] && [ -f "$gpt2_files/vocab.bpe" ] ||
  { echo "tokenizer_mismatch: no GPT-2 files in $gpt2_files: run data/fetch.sh gpt2"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/expect_error.sh"

printf 'To be, or not to be, that is the question.\n%.0s' {1..80} >"$work/text.txt"
"$glassbox" tokenize --tokenizer gpt2 --encoder "$gpt2_files/encoder.json" --vocab-bpe "$gpt2_files/vocab.bpe" \
  --input "$work/text.txt" --out "$work/gpt2" >/dev/null &&
  "$glassbox" tokenize --tokenizer char --input "$work/text.txt" --out "$work/char" >/dev/null ||
  { echo "FAIL: tokenize failed"; exit 1; }

tiny=("$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 16 --batch-size 2 --max-steps 1)
expect_error "train on GPT-2 shards, validate on char shards" \
  "char/val_000000.bin was made by the tokenizer char (vocab [0-9]*, fingerprint 0x[0-9a-f]*), but the run's tokenizer (.*gpt2) is gpt2 (vocab 50257" -- \
  "${tiny[@]}" --train-data "$work/gpt2/train_*.bin" --val-data "$work/char/val_*.bin" --out-dir "$work/mixed"

"${tiny[@]}" --train-data "$work/gpt2/train_*.bin" --val-data "$work/gpt2/val_*.bin" --out-dir "$work/run" \
  >/dev/null 2>"$work/err" || { echo "FAIL: training on GPT-2 shards failed: $(cat "$work/err")"; exit 1; }
expect_error "GPT-2 model evaluating char shards" \
  "char/val_000000.bin was made by the tokenizer char (vocab [0-9]*, fingerprint 0x[0-9a-f]*), but the model's tokenizer (.*run/checkpoint) is gpt2 (vocab 50257" -- \
  "$glassbox" eval --ckpt "$work/run/checkpoint" --data "$work/char/val_*.bin" --batch-size 1 --block-size 16
if "$glassbox" eval --ckpt "$work/run/checkpoint" --data "$work/gpt2/val_*.bin" --batch-size 1 --block-size 16 \
  >/dev/null 2>"$work/err"; then
  echo "ok   the GPT-2 model evaluates its own shards"
else
  fail "the GPT-2 model no longer evaluates its own shards: $(cat "$work/err")"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures tokenizer case(s) failed"
  exit 1
fi
echo "all tokenizer mismatches were refused, naming both tokenizers"
