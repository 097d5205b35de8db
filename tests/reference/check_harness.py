"""What the reference checks that drive the glassbox binary share: running it, reporting each check
and the count of failures at the end, and llm.c's token shards (the files they feed it)."""
import struct
import subprocess
import sys

import numpy as np

SHARD_MAGIC = 20240520


def run(cmd, expect_ok=True):
    """Runs cmd; unless expect_ok is False, a non-zero exit ends the check with its output."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if expect_ok and result.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


class Checks:
    """check(what, ok, detail) prints one line per check; finish() exits non-zero if any failed."""

    def __init__(self):
        self.failures = []

    def __call__(self, what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failures.append(what)

    def finish(self):
        if self.failures:
            sys.exit(f"FAIL: {len(self.failures)} check(s) failed: {', '.join(self.failures)}")
        print("all checks passed")


def write_shard(path, tokens):
    """llm.c's token shard: 256 int32 header (magic, version 1, count), uint16 tokens."""
    header = [0] * 256
    header[0], header[1], header[2] = SHARD_MAGIC, 1, len(tokens)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header))
        f.write(np.asarray(tokens, dtype="<u2").tobytes())


def read_shard(path):
    """The tokens of an llm.c token shard (version 1: uint16, version 2: uint32) as int64."""
    with open(path, "rb") as f:
        header = struct.unpack("<256i", f.read(1024))
        if header[0] != SHARD_MAGIC:
            sys.exit(f"FAIL: {path}: not a token shard (magic {header[0]})")
        dtype = "<u2" if header[1] == 1 else "<u4"
        return np.frombuffer(f.read(), dtype=dtype)[: header[2]].astype(np.int64)
