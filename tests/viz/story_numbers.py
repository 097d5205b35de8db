"""Story mode shows the model's own next-token probabilities: the top-K list in glassbox-viz's
--report (the "Chances" step) must equal what `glassbox sample --top-probs K` prints for the same
text, at every step of a greedy continuation (so the text grows by the model's own tokens).
When PyTorch is importable, the same numbers are also checked against the independent reference
GPT-2 (tests/reference/gpt2_reference.py) run on the checkpoint's weights.

Usage: story_numbers.py GLASSBOX GLASSBOX_VIZ CHECKPOINT_DIR WORK_DIR [STEPS]
(STEPS: tokens of the greedy continuation checked, 3 by default; each costs one render.)
"""
import json
import os
import re
import subprocess
import sys

K, STEPS, PROMPT = 5, 3, b"To be, or not"
TOLERANCE = 2e-5  # the CLI prints 6 decimals; the viz runs a full forward, the CLI a KV cache

STEP_LINE = re.compile(rb'^step (\d+):(.*)  -> "((?:[^"\\]|\\.)*)"$')
ENTRY = re.compile(rb'"((?:[^"\\]|\\.)*)" (\d+) ([0-9.]+)')


def unescape(text):
    """Undo the CLI's C escapes: \\n \\r \\t \\" \\\\ \\xHH."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i:i + 1] == b"\\":
            c = text[i + 1:i + 2]
            if c == b"x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(c, c)
            i += 2
        else:
            out.append(text[i])
            i += 1
    return bytes(out)


def sample_steps(glassbox, ckpt, steps_wanted):
    out = subprocess.run([glassbox, "sample", "--ckpt", ckpt, "--prompt", PROMPT, "--max-new-tokens", str(steps_wanted),
                          "--top-probs", str(K), "--temperature", "0"], check=True, capture_output=True).stdout
    steps = []
    for line in out.split(b"\n"):
        m = STEP_LINE.match(line)
        if m:
            top = [(int(i), float(p)) for _, i, p in ENTRY.findall(m.group(2))]
            steps.append((top, unescape(m.group(3))))
    if len(steps) != steps_wanted:
        sys.exit(f"FAIL: expected {steps_wanted} step lines from glassbox sample --top-probs, got:\n{out.decode(errors='replace')}")
    return steps


def story_top(viz, ckpt, prompt, work, n_layer, index):
    shot, report = os.path.join(work, f"story_numbers_{index}.png"), os.path.join(work, f"story_numbers_{index}.json")
    chances_step = 3 + 2 * n_layer + 1
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", viz, ckpt, "--panel", "story", "--prompt", prompt,
                    "--story-step", str(chances_step), "--screenshot", shot, "--report", report], check=True)
    with open(report) as f:
        story = json.load(f)["story"]
    if story["step"] != chances_step or story["prompt"].encode() != prompt:
        sys.exit(f"FAIL: the story shows step {story['step']} of {story['prompt']!r}, "
                 f"not step {chances_step} of {prompt!r}")
    return [(t["id"], t["p"]) for t in story["top"]][:K]


def reference_top(ckpt, prompt):
    """The top K of softmax(logits) at the last position under the PyTorch reference, or None."""
    try:
        import torch
    except ImportError:
        return None
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
    import gpt2_reference
    model = gpt2_reference.load_checkpoint(ckpt, dtype=torch.float64)
    tokens = torch.tensor([list(prompt)], dtype=torch.int64)  # the byte tokenizer: id = byte
    with torch.no_grad():
        logits, _ = model(tokens)
    p = torch.softmax(logits[0, -1, : model.vocab_size], dim=-1)
    values, ids = torch.topk(p, K)
    return [(int(i), float(v)) for i, v in zip(ids, values)]


def compare(what, got, want):
    ok = len(got) == len(want) and all(g[0] == w[0] and abs(g[1] - w[1]) <= TOLERANCE for g, w in zip(got, want))
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got} vs {want}")
    return ok


def main():
    glassbox, viz, ckpt, work = sys.argv[1:5]
    steps_wanted = int(sys.argv[5]) if len(sys.argv) > 5 else STEPS
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(ckpt, "config.json")) as f:
        config = json.load(f)
    n_layer = config.get("n_layer", config.get("num_hidden_layers"))  # glassbox / HF Llama keys
    ok = True
    prompt = PROMPT
    for index, (top, drawn) in enumerate(sample_steps(glassbox, ckpt, steps_wanted)):
        ok &= compare(f"step {index} story vs sample", story_top(viz, ckpt, prompt, work, n_layer, index), top)
        ref = reference_top(ckpt, prompt)
        if ref is not None:
            ok &= compare(f"step {index} sample vs PyTorch", top, ref)
        if drawn != bytes([top[0][0]]):
            print(f"FAIL step {index}: greedy drew {drawn!r}, not the most likely token {top[0][0]}")
            ok = False
        prompt += drawn
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
