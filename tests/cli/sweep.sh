#!/usr/bin/env bash
# glassbox sweep: a 2 x 2 grid runs every point into its own directory and writes results.csv and
# results.md; a second run skips the finished points; a point interrupted after a checkpoint is
# resumed and ends as the uninterrupted point did (same final losses); the grid also comes from a
# TOML file; a malformed grid is one line on stderr and trains nothing.
# Usage: sweep.sh PATH/TO/glassbox
set -u
glassbox=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/expect_error.sh"
/usr/bin/python3 "$(dirname "$0")/tiny_dataset.py" "$work/data"

cat >"$work/base.toml" <<TOML
n_layer = 1
n_head = 1
n_embd = 8
block_size = 8
batch_size = 2
train_data = "$work/data/train_000000.bin"
val_data = "$work/data/val_000000.bin"
warmup_steps = 2
max_steps = 6
lr_decay_steps = 6
eval_interval = 3
eval_batches = 2
log_interval = 100
checkpoint_interval = 3
TOML
sweep=("$glassbox" sweep --config "$work/base.toml")
grid="n_embd=8,16 learning_rate=1e-3,3e-3"

# The whole grid in one go.
"${sweep[@]}" --grid "$grid" --out-dir "$work/whole" >"$work/out" 2>&1 || { fail "the sweep failed:"; cat "$work/out"; }
rows=$(tail -n +2 "$work/whole/results.csv" | wc -l)
[ "$rows" -eq 4 ] && echo "ok   4 points, 4 rows in results.csv" || fail "results.csv has $rows rows, want 4"
head -n 1 "$work/whole/results.csv" | grep -q '^n_embd,learning_rate,final_train_loss,final_val_loss,tokens,flops,seconds$' ||
  fail "results.csv header: $(head -n 1 "$work/whole/results.csv")"
grep -q '^| 16 | 3e-3 |' "$work/whole/results.md" && echo "ok   results.md lists the points" || fail "results.md lacks the point 16, 3e-3"
for p in "n_embd=8,learning_rate=1e-3" "n_embd=16,learning_rate=3e-3"; do
  [ -f "$work/whole/$p/checkpoint/model.safetensors" ] || fail "no run directory $p"
done

# Again: every point is skipped.
"${sweep[@]}" --grid "$grid" --out-dir "$work/whole" >"$work/out" 2>&1
skipped=$(grep -c "finished earlier, skipped" "$work/out")
[ "$skipped" -eq 4 ] && echo "ok   a second run skips the 4 finished points" || { fail "skipped $skipped of 4:"; cat "$work/out"; }

# In a fresh sweep directory: two points finished (copied), one stopped after its step-3 checkpoint (trained alone for 3 of the 6 steps; the saved config
# then says 6, as an interrupted sweep's would), another stopped before any checkpoint.
point="n_embd=16,learning_rate=1e-3"
"$glassbox" train --config "$work/base.toml" --n-embd 16 --learning-rate 1e-3 --max-steps 3 \
  --out-dir "$work/split/$point" >/dev/null 2>&1 || fail "the partial point failed"
/usr/bin/python3 - "$work/split/$point/checkpoint/train_state.json" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state["config"]["max_steps"] = 6
json.dump(state, open(sys.argv[1], "w"))
PY
for p in "n_embd=8,learning_rate=1e-3" "n_embd=16,learning_rate=3e-3"; do cp -r "$work/whole/$p" "$work/split/"; done
mkdir -p "$work/split/n_embd=8,learning_rate=3e-3" && echo '{"step":0}' >"$work/split/n_embd=8,learning_rate=3e-3/metrics.jsonl"
"${sweep[@]}" --grid "$grid" --out-dir "$work/split" >"$work/out" 2>&1 || { fail "the resumed sweep failed:"; cat "$work/out"; }
grep -q "$point: resuming its checkpoint" "$work/out" && echo "ok   the interrupted point resumes its checkpoint" || { fail "no resume:"; cat "$work/out"; }
grep -q "n_embd=8,learning_rate=3e-3: incomplete and without a checkpoint" "$work/out" || fail "the point without a checkpoint was not restarted"
# The losses (columns 1-4) of every point equal the uninterrupted sweep's; seconds differ.
if diff <(cut -d, -f1-4 "$work/whole/results.csv") <(cut -d, -f1-4 "$work/split/results.csv") >"$work/diff"; then
  echo "ok   the resumed and restarted points end with the uninterrupted sweep's losses"
else
  fail "losses differ from the uninterrupted sweep:"; cat "$work/diff"
fi

# The grid as a TOML file.
printf 'n_embd = [8]\nlearning_rate = [1e-3, 3e-3]\n' >"$work/grid.toml"
"${sweep[@]}" --max-steps 2 --grid "$work/grid.toml" --out-dir "$work/from_file" >"$work/out" 2>&1 || { fail "the TOML grid failed:"; cat "$work/out"; }
rows=$(tail -n +2 "$work/from_file/results.csv" | wc -l)
[ "$rows" -eq 2 ] && echo "ok   a TOML grid file of 1 x 2 values gives 2 points" || fail "TOML grid: $rows rows, want 2"

# Malformed grids: one line, nothing trained.
bad() { expect_error "$1" "$2" -- "${sweep[@]}" --out-dir "$work/bad" --grid "$3"; }
bad "a word without =" "'n_embd' is not KEY=VALUE,VALUE" "n_embd"
bad "no values" "'n_embd' has no values" "n_embd="
bad "an empty value" "'n_embd' has an empty value" "n_embd=8,,16"
bad "a key twice" "'n_embd' given twice" "n_embd=8 n_embd=16"
bad "an unknown setting" "unknown setting 'embd'" "embd=8"
bad "a value of the wrong type" "--grid point n_embd=abc" "n_embd=abc,8"
bad "a setting the sweep owns" "'out_dir' is set by the sweep itself" "out_dir=x"
bad "an empty grid" "--grid is empty" " "
printf 'n_embd = [8\n' >"$work/broken.toml"
bad "a broken TOML grid" "--grid $work/broken.toml:1" "$work/broken.toml"
[ ! -e "$work/bad" ] && echo "ok   no malformed grid trained anything" || fail "a malformed grid created $work/bad"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all sweep checks passed"
