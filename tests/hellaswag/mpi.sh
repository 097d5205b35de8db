#!/usr/bin/env bash
# glassbox eval --task hellaswag under mpirun gives one process's answer bit for bit: the same
# predictions file and the same accuracies with 2 and 4 ranks (4 ranks share 6 examples unevenly).
# Usage: mpi.sh PATH/TO/glassbox MPIRUN [ARGS...]
set -euo pipefail
glassbox=$1
shift
mpirun=("$@")
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/tiny.jsonl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A byte-level model trained for a few steps on the file's own text: its checkpoint carries the
# byte tokenizer, which eval then uses.
for i in 1 2 3 4 5 6 7 8; do cat "$data"; done >"$work/text.txt"
"$glassbox" tokenize --tokenizer byte --input "$work/text.txt" --out "$work/shards" --val-fraction 0.1 >/dev/null
"$glassbox" train --n-layer 1 --n-head 2 --n-embd 16 --block-size 64 --batch-size 2 --max-steps 3 \
  --train-data "$work/shards/train_*.bin" --val-data "$work/shards/val_*.bin" --out-dir "$work/run" >/dev/null
ckpt="$work/run/checkpoint"

eval_hellaswag() {  # TAG [LAUNCHER...]
  local tag=$1
  shift
  "$@" "$glassbox" eval --ckpt "$ckpt" --task hellaswag --data "$data" \
    --predictions "$work/$tag.jsonl" --out "$work/$tag.json" >"$work/$tag.log"
}
eval_hellaswag single
eval_hellaswag np2 "${mpirun[@]}" -np 2
eval_hellaswag np4 "${mpirun[@]}" -np 4

failures=0
for tag in np2 np4; do
  if ! cmp -s "$work/single.jsonl" "$work/$tag.jsonl"; then
    echo "FAIL $tag: the predictions differ from one process's"; diff "$work/single.jsonl" "$work/$tag.jsonl" | head
    failures=$((failures + 1))
  fi
  for key in acc acc_norm examples; do
    one=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/single.json" $key)
    many=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/$tag.json" $key)
    if [ "$one" != "$many" ]; then echo "FAIL $tag: $key $many, one process $one"; failures=$((failures + 1)); fi
  done
done
[ "$(wc -l <"$work/single.jsonl")" -eq 6 ] || { echo "FAIL: want 6 predictions"; failures=$((failures + 1)); }
grep -q "examples of .* on 4 ranks" "$work/np4.log" || { echo "FAIL: np4 did not run on 4 ranks"; failures=$((failures + 1)); }
cat "$work/np4.log"
[ "$failures" -eq 0 ] && echo "hellaswag under mpirun -np 2 and -np 4 equals one process"
exit "$failures"
