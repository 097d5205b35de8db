"""Writes a tiny char-level dataset for the CLI tests: DIR/train_000000.bin (3000 tokens),
DIR/val_000000.bin (1000 tokens) of a 3-character vocabulary, and DIR/glassbox_tokenizer.json.
Usage: tiny_dataset.py DIR"""
import json
import os
import random
import struct
import sys


def shard(path, tokens):
    header = [0] * 256
    header[0], header[1], header[2] = 20240520, 1, len(tokens)  # magic, version, token count
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *header) + struct.pack("<%dH" % len(tokens), *tokens))


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(3)
shard(os.path.join(out, "train_000000.bin"), [rng.randrange(3) for _ in range(3000)])
shard(os.path.join(out, "val_000000.bin"), [rng.randrange(3) for _ in range(1000)])
with open(os.path.join(out, "glassbox_tokenizer.json"), "w") as f:
    json.dump({"type": "char", "chars": ["a", "b", "c"]}, f)
