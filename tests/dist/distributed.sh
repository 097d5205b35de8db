#!/usr/bin/env bash
# Data-parallel training end to end on CPU (ctest label "mpi", see tests/distributed.cmake).
# Usage: distributed.sh MODE GLASSBOX MPIRUN [MPIRUN FLAGS...]
#   equivalence  2 ranks x grad_accum 1 give the same losses as 1 process x grad_accum 2,
#                with ZeRO-1 off and on; 3 ranks with ZeRO-1 as 1 process x grad_accum 3;
#                gradients reduced during the backward (--overlap-comm true) and after it (the
#                default on CPUs) give the same bits with 2 ranks, and within the tolerance with 3
#   resume       a checkpoint of 2 ranks (ZeRO-1) resumes on 1 process and one of 1 process on 2
#                ranks, and the losses continue as in the uninterrupted run; a global batch that
#                cannot be kept is a clear error
#   muon         --optimizer muon: 2 ranks with ZeRO-1 (each orthogonalising every other matrix,
#                llm/train/muon.hpp) and without give the losses of 1 process x grad_accum 2; a
#                checkpoint of the 2 ZeRO-1 ranks resumes on 1 process as in the uninterrupted run
#   dead_rank    a stopped (SIGSTOP) or killed (SIGKILL) rank ends the job with an error within the
#                --comm-timeout instead of a hang
#
# Tolerance: the 2-rank runs sum the same float32 terms in another order (each rank accumulates its
# own micro-batch, then the ranks' gradients are added), so losses are not bit-identical; measured
# differences are ~1e-8 relative. We require 1e-5 relative for loss and val_loss (1e-4 for the
# gradient norm, a sum of squares of every gradient element, whose float32 rounding is larger).
# Overlapped and non-overlapped reductions of 2 ranks add the same two numbers (a + b = b + a in
# floating point too), so those runs must agree exactly ("exact" below).
set -u
mode=$1 glassbox=$2
shift 2
mpirun=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# A small corpus with structure to learn, as in tests/test_train.cpp.
/usr/bin/python3 - "$work/corpus.txt" <<'PY'
import random, sys
rng = random.Random(5)
subjects, verbs = ["the cat", "a dog", "my king", "our queen"], [" sees", " loves", " fears", " calls"]
objects = [" the moon.\n", " a rose.\n", " his horse.\n"]
text = ""
while len(text) < 60000:
    text += rng.choice(subjects) + rng.choice(verbs) + rng.choice(objects)
open(sys.argv[1], "w").write(text)
PY
"$glassbox" tokenize --tokenizer char --input "$work/corpus.txt" --out "$work/data" >/dev/null || exit 1

# Tiny model; 20 steps of a global batch of 8 sequences of 32 tokens; fixed schedule length so a run
# stopped early follows the same learning rates.
common=(--n-layer 2 --n-head 2 --n-embd 32 --block-size 32 --batch-size 4 --learning-rate 3e-3
        --warmup-steps 3 --lr-decay-steps 20 --eval-interval 10 --eval-batches 6 --log-interval 100
        --layer-stats-interval 7 --checkpoint-interval 1000
        --train-data "$work/data/train_*.bin" --val-data "$work/data/val_*.bin")
one() { "$glassbox" train "${common[@]}" "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }
two() { "${mpirun[@]}" -np 2 "$glassbox" train "${common[@]}" "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }

# compare NAME RUN_A RUN_B [exact]: the same metrics lines, losses within the tolerance above (or
# equal, with "exact").
compare() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
name, a_dir, b_dir = sys.argv[1:4]
exact = sys.argv[4:] == ["exact"]
def load(run):
    values = {}
    for line in open(run + "/metrics.jsonl"):
        j = json.loads(line)
        for key in ("loss", "val_loss", "grad_norm"):
            if key in j:
                values[(j["step"], key)] = j[key]
    return values
a, b = load(a_dir), load(b_dir)
lines = [sum(1 for _ in open(run + "/metrics.jsonl")) for run in (a_dir, b_dir)]
if lines[0] != lines[1]:  # e.g. a second rank writing metrics.jsonl too
    print(f"FAIL {name}: {lines[0]} vs {lines[1]} metrics lines")
    sys.exit(1)
if a.keys() != b.keys():
    print(f"FAIL {name}: different metrics lines: only in A {sorted(a.keys() - b.keys())}, only in B {sorted(b.keys() - a.keys())}")
    sys.exit(1)
tolerance = {"loss": 0.0, "val_loss": 0.0, "grad_norm": 0.0} if exact else {"loss": 1e-5, "val_loss": 1e-5, "grad_norm": 1e-4}
worst = {key: 0.0 for key in tolerance}
for (step, key), x in a.items():
    worst[key] = max(worst[key], abs(x - b[(step, key)]) / max(abs(x), 1e-12))
steps = len({s for s, k in a if k == "loss"})
report = ", ".join(f"{k} {worst[k]:.1e}" for k in worst)
ok = all(worst[k] <= tolerance[k] for k in worst)
print(f"{'ok  ' if ok else 'FAIL'} {name}: {steps} steps, max relative difference {report}")
sys.exit(0 if ok else 1)
PY
}

case "$mode" in
equivalence)
  one --max-steps 20 --grad-accum 2 --out-dir "$work/one" || fail "1 process run"
  two --max-steps 20 --grad-accum 1 --out-dir "$work/two" || fail "2 rank run"
  compare "2 ranks vs 1 process x grad_accum 2" "$work/one" "$work/two" || failures=$((failures + 1))
  two --max-steps 20 --grad-accum 1 --zero-stage 1 --out-dir "$work/zero" || fail "2 rank ZeRO-1 run"
  compare "2 ranks ZeRO-1 vs 1 process x grad_accum 2" "$work/one" "$work/zero" || failures=$((failures + 1))
  grep -q "gradients reduced after the backward" "$work/last.log" || fail "default on the CPU: no 'reduced after the backward' line"
  # the same two runs with the gradients reduced during the backward (--overlap-comm true; auto
  # reduces after it on CPUs)
  two --max-steps 20 --grad-accum 1 --overlap-comm true --out-dir "$work/two_during" || fail "2 rank run, overlapped"
  compare "2 ranks: reduced during vs after the backward" "$work/two_during" "$work/two" exact || failures=$((failures + 1))
  two --max-steps 20 --grad-accum 1 --zero-stage 1 --overlap-comm true --out-dir "$work/zero_during" ||
    fail "2 rank ZeRO-1 run, overlapped"
  compare "2 ranks ZeRO-1: reduced during vs after the backward" "$work/zero_during" "$work/zero" exact ||
    failures=$((failures + 1))
  grep -q "gradients reduced during the backward" "$work/last.log" || fail "no 'reduced during the backward' line"
  # with gradient accumulation, only the last micro-step's backward starts reductions
  two --max-steps 20 --grad-accum 2 --overlap-comm true --out-dir "$work/two_accum_during" || fail "2 rank x grad_accum 2 run, overlapped"
  two --max-steps 20 --grad-accum 2 --out-dir "$work/two_accum" || fail "2 rank x grad_accum 2 run"
  compare "2 ranks x grad_accum 2: reduced during vs after the backward" "$work/two_accum_during" "$work/two_accum" exact ||
    failures=$((failures + 1))
  # 3 ranks, reduced during the backward: ZeRO-1 pieces of a layer spread over several ranks
  "${mpirun[@]}" -np 3 "$glassbox" train "${common[@]}" --max-steps 20 --zero-stage 1 --overlap-comm true \
    --out-dir "$work/zero3_during" >"$work/last.log" 2>&1 || { cat "$work/last.log"; fail "3 rank ZeRO-1 run, overlapped"; }
  # 3 ranks: ZeRO-1 shards that cut through tensors at uneven sizes
  one --max-steps 20 --grad-accum 3 --out-dir "$work/one3" || fail "1 process x grad_accum 3 run"
  "${mpirun[@]}" -np 3 "$glassbox" train "${common[@]}" --max-steps 20 --zero-stage 1 --out-dir "$work/zero3" \
    >"$work/last.log" 2>&1 || { cat "$work/last.log"; fail "3 rank ZeRO-1 run"; }
  compare "3 ranks ZeRO-1 vs 1 process x grad_accum 3" "$work/one3" "$work/zero3" || failures=$((failures + 1))
  compare "3 ranks ZeRO-1, reduced during the backward, vs 1 process x grad_accum 3" "$work/one3" "$work/zero3_during" ||
    failures=$((failures + 1))
  for run in two zero; do  # only rank 0 writes into the run directory
    extra=$(ls "$work/$run" | grep -v -x -e metrics.jsonl -e checkpoint)
    [ -z "$extra" ] || fail "$run: unexpected files in the run directory: $extra"
  done
  ;;
resume)
  one --max-steps 20 --grad-accum 2 --out-dir "$work/whole" || fail "uninterrupted run"
  # 2 ranks with ZeRO-1 for 10 steps, then 1 process without ZeRO (grad_accum 1 -> 2 by itself)
  two --max-steps 10 --grad-accum 1 --zero-stage 1 --out-dir "$work/2to1" || fail "2 rank first half"
  one --max-steps 20 --grad-accum 1 --resume --extend --out-dir "$work/2to1" || fail "1 process second half"
  grep -q "grad_accum 1 -> 2" "$work/last.log" || fail "2->1: no 'grad_accum 1 -> 2' line"
  compare "2 ranks (ZeRO-1) -> 1 process resume vs uninterrupted" "$work/whole" "$work/2to1" || failures=$((failures + 1))
  # 1 process for 10 steps, then 2 ranks with ZeRO-1 (grad_accum 2 -> 1)
  one --max-steps 10 --grad-accum 2 --out-dir "$work/1to2" || fail "1 process first half"
  two --max-steps 20 --grad-accum 2 --zero-stage 1 --resume --extend --out-dir "$work/1to2" || fail "2 rank second half"
  grep -q "grad_accum 2 -> 1" "$work/last.log" || fail "1->2: no 'grad_accum 2 -> 1' line"
  compare "1 process -> 2 ranks (ZeRO-1) resume vs uninterrupted" "$work/whole" "$work/1to2" || failures=$((failures + 1))
  # a global batch of 8 cannot be kept with 2 ranks x batch 3
  if two --max-steps 20 --batch-size 3 --resume --out-dir "$work/1to2" >/dev/null; then
    fail "resume with an impossible global batch succeeded"
  elif grep -q "cannot keep" "$work/last.log"; then
    echo "ok   impossible global batch: $(grep -m1 'cannot keep' "$work/last.log")"
  else
    fail "impossible global batch: no 'cannot keep' error:"; cat "$work/last.log"
  fi
  ;;
muon)
  muon=(--optimizer muon --muon-learning-rate 0.02 --embedding-learning-rate 3e-3 --gain-bias-learning-rate 3e-3)
  one --max-steps 20 --grad-accum 2 "${muon[@]}" --out-dir "$work/one" || fail "1 process Muon run"
  two --max-steps 20 --grad-accum 1 "${muon[@]}" --out-dir "$work/two" || fail "2 rank Muon run"
  compare "Muon: 2 ranks vs 1 process x grad_accum 2" "$work/one" "$work/two" || failures=$((failures + 1))
  two --max-steps 20 --grad-accum 1 --zero-stage 1 "${muon[@]}" --out-dir "$work/zero" || fail "2 rank ZeRO-1 Muon run"
  compare "Muon: 2 ranks ZeRO-1 vs 1 process x grad_accum 2" "$work/one" "$work/zero" || failures=$((failures + 1))
  # 2 ranks with ZeRO-1 for 10 steps, then 1 process for the rest
  two --max-steps 10 --grad-accum 1 --zero-stage 1 "${muon[@]}" --out-dir "$work/2to1" || fail "Muon 2 rank first half"
  one --max-steps 20 --grad-accum 1 --resume --extend "${muon[@]}" --out-dir "$work/2to1" || fail "Muon 1 process second half"
  compare "Muon: 2 ranks (ZeRO-1) -> 1 process resume vs uninterrupted" "$work/one" "$work/2to1" || failures=$((failures + 1))
  ;;
dead_rank)
  for signal in STOP KILL; do
    # the stopped rank's peer waits in the overlapped reductions (MPI_Waitall), the killed one's in a
    # blocking collective
    overlap=$([ "$signal" = STOP ] && echo true || echo false)
    "${mpirun[@]}" -np 2 "$glassbox" train "${common[@]}" --max-steps 1000000 --eval-interval 1000000 \
      --overlap-comm "$overlap" --comm-timeout 5 --out-dir "$work/dead_$signal" >"$work/dead_$signal.log" 2>&1 &
    launcher=$!
    for _ in $(seq 300); do  # until rank 0 has logged a few steps (at most 30 s)
      [ "$( { wc -l <"$work/dead_$signal/metrics.jsonl"; } 2>/dev/null || echo 0)" -ge 4 ] && break
      sleep 0.1
    done
    victim=""
    for pid in $(pgrep -P "$launcher"); do  # the rank processes are the launcher's children
      tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
    done
    if [ -z "$victim" ]; then
      fail "SIG$signal: rank 1 not found among the children of mpirun $launcher"
      kill "$launcher" 2>/dev/null
      continue
    fi
    start=$(date +%s%N)
    kill -"$signal" "$victim"
    for _ in $(seq 600); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done  # at most 60 s
    if kill -0 "$launcher" 2>/dev/null; then
      fail "SIG$signal on rank 1: the job still runs after 60 s"
      kill -CONT "$victim" 2>/dev/null; kill "$launcher" 2>/dev/null
      continue
    fi
    wait "$launcher"
    rc=$?
    took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$rc" -eq 0 ]; then
      fail "SIG$signal on rank 1: the job exited with status 0"
    elif [ "$took_ms" -gt 15000 ]; then
      fail "SIG$signal on rank 1: the job took $took_ms ms to end (--comm-timeout 5)"
    elif [ "$signal" = STOP ] && ! grep -q "has not finished after" "$work/dead_$signal.log"; then
      fail "SIGSTOP on rank 1: no watchdog message:"; tail -5 "$work/dead_$signal.log"
    else
      echo "ok   SIG$signal on rank 1: job ended with status $rc after $((took_ms / 1000)).$((took_ms % 1000 / 100)) s: $(grep -m1 -e 'glassbox: error' -e 'exited on signal' "$work/dead_$signal.log")"
    fi
  done
  ;;
*)
  echo "unknown mode $mode"; exit 2 ;;
esac
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
