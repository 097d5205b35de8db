#!/usr/bin/env bash
# The scaling card's corpus (experiments/scaling/): tinyshakespeare plus the King James Bible that
# Debian's bible-kjv-text ships (public domain, ~4.3 MB), in a 4096-token BPE learned on its own
# training text by `glassbox train-tokenizer`.
#
#   data/scaling_corpus.sh  -> data/cache/scaling/{train_000000.bin,val_000000.bin,
#                              glassbox_tokenizer.json,encoder.json,vocab.bpe,train.txt,val.txt}
#
# 1. data/fetch.sh tinyshakespeare (honours GLASSBOX_DATA_MIRROR); the Bible's text comes from the
#    mirror's kjv/kjv.txt when GLASSBOX_DATA_MIRROR has one, else from the `bible` reader of Debian's
#    bible-kjv (scripts/install-deps.sh --experiments installs it), into data/cache/kjv/kjv.txt.
# 2. data/scaling_corpus.py holds out the last 2% of each source (whole paragraphs) as val.txt and
#    shuffles the training paragraphs of both into train.txt (fixed seed).
# 3. The tokenizer is learned on train.txt only; train.txt and val.txt are tokenized separately, so
#    val_000000.bin is exactly val.txt (one <|endoftext|> in front) and bits per byte divide by
#    val.txt's size.
# Uses the glassbox binary at $GLASSBOX (default ./build/glassbox). Reruns keep what exists.
set -euo pipefail

# The repository root, the mirror pinned, $glassbox found (data/glassbox_binary.sh).
source "$(dirname "${BASH_SOURCE[0]}")/glassbox_binary.sh"
out=data/cache/scaling
kjv=data/cache/kjv/kjv.txt

data/fetch.sh tinyshakespeare
if [[ -s "$kjv" ]]; then
  echo "have $kjv"
elif [[ -n "${GLASSBOX_DATA_MIRROR:-}" && -f "$GLASSBOX_DATA_MIRROR/kjv/kjv.txt" ]]; then
  mkdir -p "$(dirname "$kjv")"
  cp "$GLASSBOX_DATA_MIRROR/kjv/kjv.txt" "$kjv.tmp"
  chmod u+w "$kjv.tmp"
  mv "$kjv.tmp" "$kjv"
  echo "copied $GLASSBOX_DATA_MIRROR/kjv/kjv.txt -> $kjv"
else
  if ! command -v bible >/dev/null; then
    echo "scaling_corpus.sh: error: no 'bible' reader: run scripts/install-deps.sh --experiments (bible-kjv)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$kjv")"
  # -l80: lines wrapped at 80 columns whatever the terminal (the default follows $COLUMNS).
  bible -l80 "Gen1:1-Rev22:21" >"$kjv.tmp"
  mv "$kjv.tmp" "$kjv"
  echo "wrote $kjv from Debian's bible-kjv-text"
fi

if [[ -s "$out/train_000000.bin" && -s "$out/val_000000.bin" ]]; then
  echo "have $out/{train,val}_000000.bin"
  exit 0
fi
/usr/bin/python3 data/scaling_corpus.py "$out" data/cache/tinyshakespeare/input.txt "$kjv"
"$glassbox" train-tokenizer --vocab-size 4096 --input "$out/train.txt" --out "$out"
"$glassbox" tokenize --tokenizer gpt2 --encoder "$out/encoder.json" --vocab-bpe "$out/vocab.bpe" \
  --input "$out/train.txt" --out "$out" --val-fraction 0
# The val text alone, in its own folder (tokenize names its output train_*), then moved beside.
rm -rf "$out/val_tokens"
"$glassbox" tokenize --tokenizer gpt2 --encoder "$out/encoder.json" --vocab-bpe "$out/vocab.bpe" \
  --input "$out/val.txt" --out "$out/val_tokens" --val-fraction 0
mv "$out/val_tokens/train_000000.bin" "$out/val_000000.bin"
rm -rf "$out/val_tokens"
