#!/usr/bin/env bash
# `glassbox train --resume` compares the command line with the checkpoint's train_state.json:
# trajectory-preserving changes are accepted and logged, --extend continues a finished run on the
# saved schedule, any other change is refused unless named in --resume-override, and every field of
# train_state.json is range-checked. A save cut between its two renames is recovered.
# Usage: resume_safety.sh PATH/TO/glassbox
set -u
glassbox=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/expect_error.sh"
/usr/bin/python3 "$(dirname "$0")/tiny_dataset.py" "$work/data"

train=("$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 8 --batch-size 2
       --train-data "$work/data/train_000000.bin" --val-data "$work/data/val_000000.bin" --warmup-steps 2
       --lr-decay-steps 8 --eval-interval 4 --eval-batches 2 --log-interval 100 --checkpoint-interval 4)
# edit_state RUN PYTHON: runs PYTHON on `state`, RUN/checkpoint/train_state.json loaded as a dict.
edit_state() {
  /usr/bin/python3 - "$1/checkpoint/train_state.json" "$2" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
state = json.load(open(path))
exec(code)
open(path, "w").write(json.dumps(state))
PY
}

"${train[@]}" --max-steps 8 --out-dir "$work/done" >/dev/null || { echo "FAIL: the first run failed"; exit 1; }
# A copy standing for a 16-step run stopped after its step-8 checkpoint.
cp -r "$work/done" "$work/stopped" && edit_state "$work/stopped" 'state["config"]["max_steps"] = 16'
resume=("${train[@]}" --max-steps 16 --out-dir "$work/stopped" --resume)

expect_error "changed --learning-rate" "--learning-rate is 0.002 but the checkpoint was trained with 0.001" -- "${resume[@]}" --learning-rate 0.002
expect_error "changed --seed" "--seed is 7 but the checkpoint was trained with 1337" -- "${resume[@]}" --seed 7
expect_error "changed --data-sampling" "--data-sampling is \"random\" but the checkpoint was trained with \"sequential\"" -- "${resume[@]}" --data-sampling random
expect_error "changed --max-steps" "--max-steps is 40 but the checkpoint was trained with 16" -- "${resume[@]}" --max-steps 40
expect_error "changed --warmup-steps" "--warmup-steps" -- "${resume[@]}" --warmup-steps 3
expect_error "unknown --resume-override" "'learning_rat' is not a train setting" -- "${resume[@]}" --resume-override learning_rat
expect_error "--extend without --resume" "only apply with --resume" -- "${train[@]}" --max-steps 8 --out-dir "$work/new" --extend
cp -r "$work/done" "$work/finished"
if "${train[@]}" --max-steps 8 --out-dir "$work/finished" --resume >"$work/out" 2>&1 &&
   grep -q "already trained its 8 steps, so only its final evaluation runs" "$work/out" &&
   /usr/bin/python3 "$(dirname "$0")/same_history.py" "$work/done" "$work/finished"; then
  echo "ok   a finished run resumed as it was: only its final evaluation runs again"
else
  fail "a finished run resumed as it was:"; cat "$work/out"
fi
expect_error "--extend to fewer steps" "--extend: --max-steps 6 must exceed the saved run's 8" -- "${train[@]}" --max-steps 6 --out-dir "$work/done" --resume --extend

# Accepted: an override, named and logged in the run.
cp -r "$work/stopped" "$work/override"
if "${train[@]}" --max-steps 16 --out-dir "$work/override" --resume --learning-rate 0.002 --resume-override learning-rate,seed --log-interval 3 >"$work/out" 2>&1; then
  grep -q 'resume: learning_rate 0.001 -> 0.002 (--resume-override)' "$work/out" || fail "override: no console line"
  grep -q 'resume: log_interval 100 -> 3 (does not change the trajectory)' "$work/out" || fail "log_interval: no console line"
  grep -q '"key":"learning_rate"' "$work/override/resumes.jsonl" || fail "override: not in resumes.jsonl"
  echo "ok   --resume-override learning_rate and a new --log-interval are accepted and logged"
else
  fail "--resume-override run failed:"; cat "$work/out"
fi

# --extend: steps 8..11 run at min_lr (the saved decay ended at step 8); the history is complete.
if "${train[@]}" --max-steps 12 --out-dir "$work/done" --resume --extend >"$work/out" 2>&1; then
  grep -q "the learning rate follows the saved schedule, whose decay ends at step 8, and stays at min_lr 0.0001" "$work/out" ||
    fail "--extend: no schedule line"
  /usr/bin/python3 - "$work/done/metrics.jsonl" <<'PY' || fail "--extend: metrics"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
train = [l for l in lines if "loss" in l]
assert [l["step"] for l in train] == list(range(12)), [l["step"] for l in train]
assert all(abs(l["lr"] - 1e-4) < 1e-9 for l in train[8:]), [l["lr"] for l in train[8:]]
PY
  echo "ok   --extend continues at min_lr with steps 0..11 in metrics.jsonl"
else
  fail "--extend run failed:"; cat "$work/out"
fi

# train_state.json out of range: each field named, never a wrap-around or a negative learning rate.
state_case() {  # NAME WANT PYTHON
  rm -rf "$work/bad" && cp -r "$work/stopped" "$work/bad" && rm -f "$work/bad/resumes.jsonl" && edit_state "$work/bad" "$3"
  expect_error "train_state.json: $1" "$2" -- "${train[@]}" --max-steps 16 --out-dir "$work/bad" --resume
}
state_case "negative step" 'train_state.json: "step" is -5, expected an integer in \[0, 16\]' 'state["step"] = -5'
state_case "huge step" '"step" is 1000000, expected an integer in \[0, 16\]' 'state["step"] = 1000000'
state_case "step past int64" '"step" is 18446744073709551615' 'state["step"] = 2**64 - 1'
state_case "fractional step" '"step" is 4.5' 'state["step"] = 4.5'
state_case "optimizer steps past step" '"optimizer_steps" is 9, expected an integer in \[0, 8\]' 'state["optimizer_steps"] = 9'
state_case "negative position" '"position" is -1' 'state["train_loader"]["position"] = -1'
state_case "zero world size" '"world_size" is 0' 'state["world_size"] = 0'
state_case "inconsistent global batch" '"global_batch" 3 is not world_size x batch_size x grad_accum = 2' 'state["global_batch"] = 3'
state_case "n_layer that wraps to 2" '"n_layer" is 4294967298, out of range' 'state["config"]["n_layer"] = 4294967298'
state_case "negative learning rate" "--learning-rate must be a positive number" 'state["config"]["learning_rate"] = -0.1'
state_case "step of the wrong type" '"step" is "8", expected an integer' 'state["step"] = "8"'
state_case "missing step" 'train_state.json: malformed' 'del state["step"]'

# A save cut between its renames leaves checkpoint.old (the previous one) and checkpoint.tmp (complete).
cp -r "$work/stopped" "$work/cut"
mv "$work/cut/checkpoint" "$work/cut/checkpoint.tmp"
cp -r "$work/cut/checkpoint.tmp" "$work/cut/checkpoint.old"
if "${train[@]}" --max-steps 16 --out-dir "$work/cut" --resume >"$work/out" 2>&1 &&
   grep -q "a save was interrupted between its renames: .*checkpoint.tmp (complete) is now" "$work/out" &&
   grep -q "resuming .* at step 8" "$work/out" && [ ! -e "$work/cut/checkpoint.old" ]; then
  echo "ok   checkpoint.old + checkpoint.tmp: resumed from checkpoint.tmp, and said so"
else
  fail "checkpoint.old + checkpoint.tmp were not recovered:"; cat "$work/out"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures resume case(s) failed"
  exit 1
fi
echo "all resume cases behaved"
