#!/usr/bin/env bash
# Kills `glassbox train` (SIGKILL, injected by strace) at every write and every rename it makes, in a
# run from scratch and in a resume of an interrupted run (whose first act is to drop the metrics past
# its checkpoint), then resumes. After each kill the resume must start from the newest complete
# checkpoint, and the finished run must have the uninterrupted run's metrics history and weights,
# bit for bit.
# Usage: fault_injection.sh PATH/TO/glassbox
set -u
glassbox=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$(dirname "$0")
. "$here/expect_error.sh"
command -v strace >/dev/null || { echo "fault_injection: strace is not installed (scripts/install-deps.sh --test)"; exit 1; }
export OMP_NUM_THREADS=1  # one thread: strace counts the syscalls of the thread that makes them
/usr/bin/python3 "$here/tiny_dataset.py" "$work/data"

# 8 steps with a checkpoint every 2: saves at steps 2, 4, 6 and 8.
train=("$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 8 --batch-size 2 --max-steps 8
       --train-data "$work/data/train_000000.bin" --val-data "$work/data/val_000000.bin" --warmup-steps 2
       --eval-interval 4 --eval-batches 2 --log-interval 100 --checkpoint-interval 2)
"${train[@]}" --out-dir "$work/reference" >/dev/null || { echo "FAIL: the uninterrupted run failed"; exit 1; }

# killed_at SYSCALL N RUN ARGS...: runs `train --out-dir RUN ARGS` and kills it at its N-th SYSCALL
# (write or rename); the trace of its renames goes to RUN.trace. Returns 0 when the kill happened.
killed_at() {
  local syscall=$1 n=$2 run=$3
  shift 3
  # (inside sh, whose "Killed" report goes to /dev/null with the rest)
  sh -c 'strace "$@"; exit $?' strace -qq -o "$run.trace" -e trace=write,rename \
    -e inject="$syscall":signal=KILL:when="$n" "${train[@]}" --out-dir "$run" "$@" >/dev/null 2>&1
  [ $? -eq 137 ]
}

# completed_saves RUN FIRST: how many saves the killed run completed. A save is complete once its
# directory took the old one's place (checkpoint -> checkpoint.old: checkpoint.tmp was full by then);
# a run's first save, when FIRST is "fresh" (no checkpoint existed), once checkpoint.tmp became
# checkpoint.
completed_saves() {
  local swaps installs
  swaps=$(grep -c -E 'rename\("[^"]*/checkpoint", "[^"]*/checkpoint\.old"\) = 0' "$1.trace")
  installs=$(grep -c -E 'rename\("[^"]*/checkpoint\.tmp", "[^"]*/checkpoint"\) = 0' "$1.trace")
  if [ "$2" = fresh ] && [ "$installs" -gt 0 ]; then swaps=$((swaps + 1)); fi
  echo "$swaps"
}

# resume_and_check NAME RUN EXPECTED_STEP: resumes RUN to its end (or, without a checkpoint, runs it
# afresh) and compares it with the reference.
resume_and_check() {
  local name=$1 run=$2 want=$3
  if [ "$want" -eq 0 ]; then
    local said
    said=$("${train[@]}" --out-dir "$run" --resume 2>&1)
    case $said in *"nothing to resume"*) ;; *) fail "$name: no checkpoint, but resume said: $said"; return ;; esac
    rm -rf "$run"
    "${train[@]}" --out-dir "$run" >"$work/out" 2>&1 || { fail "$name: fresh run failed"; return; }
  else
    "${train[@]}" --out-dir "$run" --resume >"$work/out" 2>&1 || { fail "$name: resume failed: $(tail -n 1 "$work/out")"; return; }
    grep -q "resuming $run/checkpoint at step $want\$" "$work/out" ||
      { fail "$name: did not resume at step $want: $(grep -m1 resuming "$work/out")"; return; }
  fi
  /usr/bin/python3 "$here/same_history.py" "$work/reference" "$run" >"$work/diff" 2>&1 ||
    { fail "$name: metrics history: $(head -n 3 "$work/diff")"; return; }
  cmp -s "$work/reference/checkpoint/model.safetensors" "$run/checkpoint/model.safetensors" ||
    { fail "$name: final weights differ"; return; }
  passed=$((passed + 1))
}

passed=0
# 1. A run from scratch, killed at each of its writes and renames.
for syscall in write rename; do
  for n in $(seq 1 1000); do
    rm -rf "$work/run" "$work/run.trace"
    killed_at "$syscall" "$n" "$work/run" || break  # the run finished: no N-th call
    resume_and_check "fresh run killed at $syscall $n" "$work/run" $((2 * $(completed_saves "$work/run" fresh)))
  done
  echo "ok   fresh run: killed at each of its $((n - 1)) ${syscall}s, then resumed"
done

# 2. An interrupted run (killed at its 8th rename: in the save at step 6, with metrics to step 5 and
# a checkpoint at step 4), whose resume is killed at each of its writes and renames.
rm -rf "$work/base" && killed_at rename 8 "$work/base" || fail "could not make the interrupted run"
for syscall in write rename; do
  for n in $(seq 1 1000); do
    rm -rf "$work/run" "$work/run.trace" && cp -r "$work/base" "$work/run"
    killed_at "$syscall" "$n" "$work/run" --resume || break
    want=$((4 + 2 * $(completed_saves "$work/run" resumed)))  # the interrupted run's checkpoint was at step 4
    resume_and_check "resume killed at $syscall $n" "$work/run" "$want"
  done
  echo "ok   resume: killed at each of its $((n - 1)) ${syscall}s, then resumed"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures of $((passed + failures)) fault cases failed"
  exit 1
fi
echo "all $passed kills survived: each resumed from the newest complete checkpoint with the full history"
