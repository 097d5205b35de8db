#!/usr/bin/env bash
# nanoGPT's shakespeare_char dataset: tinyshakespeare, one token per character (65), last 10% = val.
#
#   data/shakespeare_char.sh   -> data/cache/shakespeare_char/{train_000000.bin,val_000000.bin,glassbox_tokenizer.json}
#
# Uses the glassbox binary at $GLASSBOX (default ./build/glassbox) and data/fetch.sh (which honours
# GLASSBOX_DATA_MIRROR).
set -euo pipefail

# A relative GLASSBOX_DATA_MIRROR is relative to where the command was typed: pin it before the cd.
[[ -z "${GLASSBOX_DATA_MIRROR:-}" ]] || export GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
glassbox="${GLASSBOX:-./build/glassbox}"
if [[ ! -x "$glassbox" ]]; then
  echo "shakespeare_char.sh: error: glassbox binary $glassbox not found (build it, or set GLASSBOX)" >&2
  exit 1
fi

data/fetch.sh tinyshakespeare
"$glassbox" tokenize --tokenizer char \
  --input data/cache/tinyshakespeare/input.txt \
  --out data/cache/shakespeare_char \
  --val-fraction 0.1
