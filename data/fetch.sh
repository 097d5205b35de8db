#!/usr/bin/env bash
# Fetch a raw dataset or tokenizer file set into data/cache/.
#
#   data/fetch.sh tinyshakespeare   -> data/cache/tinyshakespeare/input.txt
#   data/fetch.sh gpt2              -> data/cache/gpt2/encoder.json, data/cache/gpt2/vocab.bpe
#   data/fetch.sh hellaswag         -> data/cache/hellaswag/hellaswag_val.jsonl (see data/hellaswag.sh)
#   data/fetch.sh smollm2-135m      -> data/cache/smollm2-135m/: a Hugging Face Llama directory
#                                      (config.json, model.safetensors, tokenizer.json; 270 MB)
#   data/fetch.sh gpt2-124m         -> data/cache/gpt2-124m/: Hugging Face's GPT-2 directory
#                                      (config.json, model.safetensors, vocab.json, merges.txt; 550 MB)
# (data/hf_models.md: what these directories are and how glassbox uses them)
#
# With GLASSBOX_DATA_MIRROR set (e.g. /srv/glassbox-data, or ../shared/data relative to the folder
# the command is typed in), files are copied from "$GLASSBOX_DATA_MIRROR/<name>/<file>" instead of
# downloaded; the mirror has the same layout as data/cache. Files already present are kept.
# data/cache is git-ignored: never commit data.
set -euo pipefail

# A relative mirror means relative to where the command was typed; pin it before anything else runs.
if [[ -n "${GLASSBOX_DATA_MIRROR:-}" ]]; then
  GLASSBOX_DATA_MIRROR="$(realpath -m -- "$GLASSBOX_DATA_MIRROR")"
  if [[ ! -d "$GLASSBOX_DATA_MIRROR" ]]; then
    echo "fetch.sh: error: GLASSBOX_DATA_MIRROR=$GLASSBOX_DATA_MIRROR is not a folder" >&2
    exit 1
  fi
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/data/cache"

usage() {
  echo "usage: data/fetch.sh tinyshakespeare|gpt2|hellaswag|smollm2-135m|gpt2-124m" >&2
  exit 2
}

# fetch RELPATH URL: put data/cache/RELPATH in place, from the mirror or the URL.
fetch() {
  local relpath="$1" url="$2"
  local dest="$cache/$relpath"
  if [[ -s "$dest" ]]; then
    echo "have $dest"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  if [[ -n "${GLASSBOX_DATA_MIRROR:-}" ]]; then
    local src="$GLASSBOX_DATA_MIRROR/$relpath"
    if [[ ! -f "$src" ]]; then
      echo "fetch.sh: error: $src not found in GLASSBOX_DATA_MIRROR" >&2
      exit 1
    fi
    cp "$src" "$dest.tmp"
    chmod u+w "$dest.tmp"  # the mirror may be read-only
    echo "copied $src -> $dest"
  else
    curl --fail --location --silent --show-error --output "$dest.tmp" "$url"
    echo "downloaded $url -> $dest"
  fi
  mv "$dest.tmp" "$dest"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  tinyshakespeare)
    fetch tinyshakespeare/input.txt \
      https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
    ;;
  gpt2)
    fetch gpt2/encoder.json https://openaipublic.blob.core.windows.net/gpt-2/models/124M/encoder.json
    fetch gpt2/vocab.bpe https://openaipublic.blob.core.windows.net/gpt-2/models/124M/vocab.bpe
    ;;
  hellaswag)
    fetch hellaswag/hellaswag_val.jsonl \
      https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_val.jsonl
    ;;
  smollm2-135m)
    for file in config.json model.safetensors tokenizer.json; do
      fetch "smollm2-135m/$file" "https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/$file"
    done
    ;;
  gpt2-124m)
    for file in config.json model.safetensors vocab.json merges.txt; do
      fetch "gpt2-124m/$file" "https://huggingface.co/openai-community/gpt2/resolve/main/$file"
    done
    ;;
  *)
    usage
    ;;
esac
