#!/usr/bin/env bash
# nanoGPT's shakespeare_char dataset: tinyshakespeare, one token per character (65), last 10% = val.
#
#   data/shakespeare_char.sh   -> data/cache/shakespeare_char/{train_000000.bin,val_000000.bin,glassbox_tokenizer.json}
#
# Uses the glassbox binary at $GLASSBOX (default ./build/glassbox) and data/fetch.sh (which honours
# GLASSBOX_DATA_MIRROR).
set -euo pipefail

# The repository root, the mirror pinned, $glassbox found (data/glassbox_binary.sh).
source "$(dirname "${BASH_SOURCE[0]}")/glassbox_binary.sh"

data/fetch.sh tinyshakespeare
"$glassbox" tokenize --tokenizer char \
  --input data/cache/tinyshakespeare/input.txt \
  --out data/cache/shakespeare_char \
  --val-fraction 0.1
