#!/usr/bin/env bash
# tinyshakespeare with the GPT-2 tokenizer (50257 ids): the small dataset for fine-tuning GPT-2 weights
# (e.g. a checkpoint made with `glassbox convert --from gpt2_124M.bin`) or training a GPT-2-vocabulary
# model from scratch.
#
#   data/shakespeare_gpt2.sh   -> data/cache/shakespeare_gpt2/{train_000000.bin,val_000000.bin,
#                                 glassbox_tokenizer.json,encoder.json,vocab.bpe}
#
# The whole file is one document (one <|endoftext|> in front of it: 338,026 tokens); the last 10% of
# the tokens are validation, as nanoGPT's shakespeare_char splits. (llm.c's tinyshakespeare.py differs:
# it cuts the text at blank lines into documents and takes the FIRST 32,768 tokens as validation.)
# Uses the glassbox binary at $GLASSBOX (default ./build/glassbox) and data/fetch.sh (which honours
# GLASSBOX_DATA_MIRROR).
set -euo pipefail

# The repository root, the mirror pinned, $glassbox found (data/glassbox_binary.sh).
source "$(dirname "${BASH_SOURCE[0]}")/glassbox_binary.sh"

data/fetch.sh tinyshakespeare
data/fetch.sh gpt2
"$glassbox" tokenize --tokenizer gpt2 \
  --input data/cache/tinyshakespeare/input.txt \
  --encoder data/cache/gpt2/encoder.json --vocab-bpe data/cache/gpt2/vocab.bpe \
  --out data/cache/shakespeare_gpt2 \
  --val-fraction 0.1
