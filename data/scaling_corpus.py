#!/usr/bin/env python3
"""Split and mix the scaling corpus's sources into train.txt and val.txt (data/scaling_corpus.sh).

    scaling_corpus.py OUT_DIR SOURCE.txt [SOURCE.txt ...]

Each source is cut into paragraphs (text between blank lines: a speech in tinyshakespeare, a chapter
in the King James Bible). The last VAL_FRACTION (2%) of each source's bytes, in whole paragraphs, is held
out as validation, so both sources appear in val.txt in their share. The training paragraphs of all
sources are shuffled with a fixed seed and joined: a run that reads its tokens in order (sequential
windows, at most one epoch) then sees both sources from its first step, whatever its token budget.
"""
import random
import sys
from pathlib import Path

VAL_FRACTION = 0.02
SEED = 20


def paragraphs(text):
    """The paragraphs of text, each with the blank line that ends it, so joining them gives text."""
    parts = text.split("\n\n")
    return [p + "\n\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: scaling_corpus.py OUT_DIR SOURCE.txt [SOURCE.txt ...]")
    out = Path(sys.argv[1])
    train, val = [], []
    for source in sys.argv[2:]:
        paras = paragraphs(Path(source).read_text(encoding="utf-8"))
        total = sum(len(p.encode()) for p in paras)
        # Walk back from the end until VAL_FRACTION of the bytes are held out.
        held, cut = 0, len(paras)
        while cut > 1 and held < VAL_FRACTION * total:
            cut -= 1
            held += len(paras[cut].encode())
        train += paras[:cut]
        val += paras[cut:]
    random.Random(SEED).shuffle(train)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("".join(train), encoding="utf-8")
    (out / "val.txt").write_text("".join(val), encoding="utf-8")
    for name in ("train.txt", "val.txt"):
        print(f"scaling_corpus.py: {out / name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
