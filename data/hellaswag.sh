#!/usr/bin/env bash
# HellaSwag's validation set (Zellers et al., 2019: 10,042 questions, 4 endings each), the JSONL that
# `glassbox eval --task hellaswag` and `glassbox train --hellaswag-interval N` read.
#
#   data/hellaswag.sh   -> data/cache/hellaswag/hellaswag_val.jsonl
#
# From $GLASSBOX_DATA_MIRROR/hellaswag/hellaswag_val.jsonl when GLASSBOX_DATA_MIRROR is set, else from
# the dataset's repository (data/fetch.sh does the fetching). Then, for example:
#
#   build/glassbox eval --ckpt runs/gpt2_124m/checkpoint --task hellaswag \
#       --data data/cache/hellaswag/hellaswag_val.jsonl --predictions runs/gpt2_124m/hellaswag.jsonl
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/data/fetch.sh" hellaswag
file="$root/data/cache/hellaswag/hellaswag_val.jsonl"
lines=$(grep -c . "$file")
if [[ "$lines" -ne 10042 ]]; then
  echo "hellaswag.sh: warning: $file has $lines examples, the published validation set has 10042" >&2
fi
echo "$file: $lines examples"
