"""Exits non-zero unless two runs' metrics.jsonl hold the same lines, value for value (bit for bit:
a resumed run repeats the uninterrupted one exactly), timings aside.
Usage: same_history.py RUN_A RUN_B"""
import json
import sys

TIMINGS = {"elapsed_s", "tokens_per_s", "ms_per_step"}


def history(run):
    with open(run + "/metrics.jsonl") as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMINGS} for line in f]


a, b = history(sys.argv[1]), history(sys.argv[2])
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        sys.exit(f"metrics line {i + 1} differs:\n  {x}\n  {y}")
if len(a) != len(b):
    sys.exit(f"{sys.argv[1]} has {len(a)} metrics lines, {sys.argv[2]} {len(b)}")
