#!/usr/bin/env bash
# Bad input must give one clear line on stderr and a non-zero exit, never a crash or a hang.
# Usage: bad_inputs.sh PATH/TO/glassbox
set -u
glassbox=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/expect_error.sh"

# A small valid dataset: 2000 tokens of a 3-character vocabulary.
mkdir -p "$work/good"
/usr/bin/python3 - "$work" <<'PY'
import struct, sys, json, os
work = sys.argv[1]
def shard(path, tokens, magic=20240520, version=1, count=None, cut=0):
    header = [0] * 256
    header[0], header[1], header[2] = magic, version, len(tokens) if count is None else count
    data = struct.pack("<256i", *header) + struct.pack("<%dH" % len(tokens), *tokens)
    open(path, "wb").write(data[: len(data) - cut])
tokens = [i % 3 for i in range(2000)]
shard(f"{work}/good/train_000000.bin", tokens)
shard(f"{work}/good/val_000000.bin", tokens)
json.dump({"type": "char", "chars": ["a", "b", "c"]}, open(f"{work}/good/glassbox_tokenizer.json", "w"))
os.makedirs(f"{work}/bad", exist_ok=True)
shard(f"{work}/bad/magic.bin", tokens, magic=12345)
shard(f"{work}/bad/truncated.bin", tokens, cut=100)
shard(f"{work}/bad/tiny.bin", tokens[:10])
open(f"{work}/bad/empty.bin", "wb").close()
def llmc(path, version=3, magic=20240326, cut=0, nan_at=None):  # llm.c model file: L=1, NH=1, C=8, maxT=16, V=Vp=128
    header = [magic, version, 16, 128, 1, 1, 8, 128] + [0] * 248
    n = (128 + 16) * 8 + (12 * 64 + 13 * 8) + 2 * 8
    values = [0.0] * n
    if nan_at is not None: values[nan_at] = float("nan")
    data = struct.pack("<256i", *header) + struct.pack("<%df" % n, *values)
    open(path, "wb").write(data[: len(data) - cut])
llmc(f"{work}/bad/model_version.bin", version=7)
llmc(f"{work}/bad/model_cut.bin", cut=10)
llmc(f"{work}/bad/model_nan.bin", nan_at=128 * 8 + 3)  # in wpe, after wte's 128 x 8
PY
train=("$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 16 --batch-size 2 --max-steps 2
       --out-dir "$work/run" --val-data "$work/good/val_000000.bin")

expect_error "missing data" "no shard" -- "${train[@]}" --train-data "$work/nothing/train_*.bin"
expect_error "empty shard" "empty" -- "${train[@]}" --train-data "$work/bad/empty.bin"
expect_error "wrong shard magic" "magic" -- "${train[@]}" --train-data "$work/bad/magic.bin"
expect_error "truncated shard" "truncated" -- "${train[@]}" --train-data "$work/bad/truncated.bin"
expect_error "block size larger than the data" "tiny.bin" -- "${train[@]}" --train-data "$work/bad/tiny.bin"
expect_error "unknown flag" "--bogus" -- "${train[@]}" --train-data "$work/good/train_000000.bin" --bogus 3
expect_error "bad flag value" "batch" -- "$glassbox" train --batch-size lots
expect_error "bad --overlap-comm" "--overlap-comm must be auto, true or false" -- "${train[@]}" --train-data "$work/good/train_000000.bin" --overlap-comm maybe
printf 'n_layer = 2\nlearning_rat = 0.1\n' >"$work/typo.toml"
expect_error "unknown config key" "learning_rat" -- "$glassbox" train --config "$work/typo.toml"
expect_error "missing config file" "nope.toml" -- "$glassbox" train --config "$work/nope.toml"

# A real checkpoint, then damaged copies of it.
"${train[@]}" --train-data "$work/good/train_000000.bin" >/dev/null 2>&1 || { echo "FAIL: the good run failed"; exit 1; }
ckpt="$work/run/checkpoint"
expect_error "run directory in use" "--resume" -- "${train[@]}" --train-data "$work/good/train_000000.bin"
expect_error "missing checkpoint" "no such checkpoint" -- "$glassbox" sample --ckpt "$work/none"
cp -r "$ckpt" "$work/cut" && truncate -s 500 "$work/cut/model.safetensors"
expect_error "truncated checkpoint" "model.safetensors" -- "$glassbox" sample --ckpt "$work/cut"
cp -r "$ckpt" "$work/badjson" && echo "{" >"$work/badjson/config.json"
expect_error "corrupt config.json" "config.json" -- "$glassbox" sample --ckpt "$work/badjson"
cp -r "$ckpt" "$work/shape" && sed -i 's/"n_embd": 8/"n_embd": 16/' "$work/shape/config.json"
expect_error "checkpoint shape mismatch" "shape" -- "$glassbox" sample --ckpt "$work/shape"
expect_error "bad top-p" "top-p" -- "$glassbox" sample --ckpt "$ckpt" --top-p 0
expect_error "negative top-probs" "top-probs" -- "$glassbox" sample --ckpt "$ckpt" --top-probs -1
expect_error "bench-load with no repeats" "--repeats must be at least 1" -- "$glassbox" bench-load --ckpt "$ckpt" --repeats 0
expect_error "eval on missing data" "no shard" -- "$glassbox" eval --ckpt "$ckpt" --data "$work/none/*.bin"
# HellaSwag files: each malformed line is named by file and line number (line 1 is well formed).
hs=("$glassbox" eval --ckpt "$ckpt" --task hellaswag)
good_line='{"ctx": "ab", "endings": ["a", "b", "c", "ab"], "label": 0}'
hellaswag_case() {  # NAME WANT LINE2: a file of a good line then LINE2
  printf '%s\n%s\n' "$good_line" "$3" >"$work/hs.jsonl"
  expect_error "hellaswag: $1" "$2" -- "${hs[@]}" --data "$work/hs.jsonl"
}
hellaswag_case "bad JSON" "hs.jsonl:2: not valid JSON" '{"ctx": "ab", "endings": ['
hellaswag_case "missing key" 'hs.jsonl:2: no "endings" key' '{"ctx": "ab", "label": 0}'
hellaswag_case "three endings" "hs.jsonl:2: \"endings\" must be a list of 4 strings, found 3 items" '{"ctx": "ab", "endings": ["a", "b", "c"], "label": 0}'
hellaswag_case "label out of range" 'hs.jsonl:2: "label" 4 is out of range 0..3' '{"ctx": "ab", "endings": ["a", "b", "c", "ab"], "label": 4}'
hellaswag_case "label not a number" 'hs.jsonl:2: "label" is not an integer' '{"ctx": "ab", "endings": ["a", "b", "c", "ab"], "label": "0"}'
# The checkpoint's vocabulary is "abc": no space, which every ending starts with.
printf '\n%s\n' "$good_line" >"$work/hs_vocab.jsonl"
expect_error "hellaswag: text outside the vocabulary" "hs_vocab.jsonl:2: char tokenizer" -- "${hs[@]}" --data "$work/hs_vocab.jsonl"
expect_error "hellaswag: missing file" "none.jsonl" -- "${hs[@]}" --data "$work/none.jsonl"
expect_error "eval: unknown task" "--task" -- "${hs[@]}" --data "$work/hs.jsonl" --task mmlu
expect_error "hellaswag: missing GPT-2 files" "encoder.json" -- "${hs[@]}" --data "$work/hs.jsonl" --tokenizer gpt2 --encoder "$work/none/encoder.json"
expect_error "convert: not an llm.c model file" "magic" -- "$glassbox" convert --from "$work/good/train_000000.bin" --to "$work/conv"
expect_error "convert: unknown llm.c version" "model_version.bin" -- "$glassbox" convert --from "$work/bad/model_version.bin" --to "$work/conv"
expect_error "convert: truncated llm.c file" "truncated" -- "$glassbox" convert --from "$work/bad/model_cut.bin" --to "$work/conv"
expect_error "convert: NaN in an llm.c file" "model_nan.bin: tensor wpe: holds a non-finite value" -- "$glassbox" convert --from "$work/bad/model_nan.bin" --to "$work/conv.bin"
# A checkpoint whose first stored value is NaN: sample, eval and --init-from all refuse it at load.
cp -r "$ckpt" "$work/nan" && /usr/bin/python3 - "$work/nan/model.safetensors" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    f.seek(8 + n)
    f.write(struct.pack("<f", float("nan")))
PY
expect_error "sample: NaN weight" "non-finite" -- "$glassbox" sample --ckpt "$work/nan"
expect_error "eval: NaN weight" "model.safetensors: tensor 'transformer.wte.weight': holds a non-finite value" -- "$glassbox" eval --ckpt "$work/nan" --data "$work/good/val_000000.bin"
expect_error "train --init-from a NaN checkpoint" "non-finite" -- "${train[@]}" --train-data "$work/good/train_000000.bin" --out-dir "$work/nan_run" --init-from "$work/nan"
expect_error "convert: missing input" "no such file" -- "$glassbox" convert --from "$work/none.bin" --to "$work/conv"
expect_error "unsupported device" "CUDA" -- "$glassbox" sample --ckpt "$ckpt" --device cuda
expect_error "bench-attention: bad sequence length" "--seq-lens" -- "$glassbox" bench-attention --seq-lens 1k
expect_error "bench-attention: head size vs channels" "multiple" -- "$glassbox" bench-attention --head-sizes 48 --channels 100

# Strict TOML: one line naming the file and line.
printf 'n_layer = 2\nn_layer = 3\n' >"$work/dup.toml"
expect_error "duplicate TOML key" "dup.toml:2: .*cannot redefine existing integer 'n_layer'" -- "$glassbox" train --config "$work/dup.toml" --batch-size 4
printf 'out_dir = "runs/x\nn_layer = 2\n' >"$work/unterminated.toml"
expect_error "unterminated TOML string" "unterminated.toml:1: Error while parsing string" -- "$glassbox" train --config "$work/unterminated.toml"
printf 'n_layer = 2\nbatch_size = \n' >"$work/novalue.toml"
expect_error "TOML key without a value" "novalue.toml:2: .*expected value" -- "$glassbox" train --config "$work/novalue.toml" --out-dir "$work/x"
printf 'n_layer = 2\nbatch_size = ' >"$work/eof.toml"  # the same, the file's last bytes (no newline)
expect_error "TOML key without a value at end of file" "eof.toml:2: .*end-of-file" -- "$glassbox" train --config "$work/eof.toml" --out-dir "$work/x"
printf 'n_layer = 2\nbatch\r_size = 1\n' >"$work/rawcr.toml"  # a raw CR inside a bare key
expect_error "raw CR in a key, escaped" "rawcr.toml:2: .*saw '\\\\r'" -- "$glassbox" train --config "$work/rawcr.toml" --out-dir "$work/x"
expect_error "directory as --config" "is a directory, expected a TOML file" -- "$glassbox" train --config "$work/good" --batch-size 4
printf '%s\n' '"bad\r\nkey" = 1' >"$work/control.toml"  # a TOML-escaped CR LF inside a quoted key
expect_error "control characters in a key, escaped" "unknown key 'bad\\\\r\\\\nkey'" -- "$glassbox" train --config "$work/control.toml"
# Numbers out of range, from flags and from config.json: no wrap-around.
good=(--train-data "$work/good/train_000000.bin" --val-data "$work/good/val_000000.bin" --out-dir "$work/ranges")
expect_error "--seed -1" "--seed: expected a non-negative integer" -- "${train[@]}" "${good[@]}" --seed -1
expect_error "--n-layer past int" "--n-layer = .*4294967298" -- "${train[@]}" "${good[@]}" --n-layer 4294967298
expect_error "--beta2 2" "--beta2 must lie in \[0, 1)" -- "${train[@]}" "${good[@]}" --beta2 2
expect_error "--eps -1" "--eps must be a positive number" -- "${train[@]}" "${good[@]}" --eps -1
expect_error "--lr-decay-steps -10" "--lr-decay-steps must not be negative" -- "${train[@]}" "${good[@]}" --lr-decay-steps -10
expect_error "info --batch-size 0" "--batch-size must be at least 1" -- "$glassbox" info --batch-size 0
expect_error "bench --batch-size 0" "--batch-size must be at least 1" -- "$glassbox" bench --batch-size 0
cp -r "$ckpt" "$work/wrap" && sed -i 's/"n_layer": 1/"n_layer": 4294967297/' "$work/wrap/config.json"
expect_error "config.json n_layer that wraps" '"n_layer" is 4294967297, expected an integer in \[1, 2147483647\]' -- "$glassbox" sample --ckpt "$work/wrap"
mkdir -p "$work/dirconfig" && cp "$ckpt/model.safetensors" "$work/dirconfig/" && mkdir "$work/dirconfig/config.json"
expect_error "directory in place of config.json" "dirconfig/config.json: is a directory, expected a JSON file" -- "$glassbox" sample --ckpt "$work/dirconfig"
# Data tied to its tokenizer: shards of another character set (4 characters, like "abc\n") have
# ids in range, but are refused by train and eval, naming both tokenizers. Unstamped shards
# (llm.c's, like good/) still evaluate.
printf 'xyz\n%.0s' {1..600} >"$work/xyz.txt"
printf 'abc\n%.0s' {1..600} >"$work/abc.txt"
"$glassbox" tokenize --input "$work/xyz.txt" --out "$work/xyz" >/dev/null &&
  "$glassbox" tokenize --input "$work/abc.txt" --out "$work/abc" >/dev/null || fail "tokenize failed"
expect_error "val shards of another tokenizer" "xyz/val_000000.bin was made by the tokenizer char (vocab 4, fingerprint 0x[0-9a-f]*), but the run's tokenizer (.*abc) is char (vocab 4" -- \
  "$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 16 --batch-size 2 --max-steps 1 \
  --train-data "$work/abc/train_*.bin" --val-data "$work/xyz/val_*.bin" --out-dir "$work/mixed"
"$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 16 --batch-size 2 --max-steps 1 \
  --train-data "$work/abc/train_*.bin" --val-data "$work/abc/val_*.bin" --out-dir "$work/abcrun" >/dev/null 2>&1 ||
  fail "training on abc shards failed"
expect_error "eval on another tokenizer's shards" "but the model's tokenizer (.*abcrun/checkpoint) is char" -- \
  "$glassbox" eval --ckpt "$work/abcrun/checkpoint" --data "$work/xyz/val_*.bin" --batch-size 1 --block-size 16
expect_error "--init-from with another tokenizer" "--init-from's tokenizer is char (vocab 4" -- \
  "$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 16 --batch-size 2 --max-steps 1 \
  --train-data "$work/xyz/train_*.bin" --val-data "$work/xyz/val_*.bin" --out-dir "$work/xyzrun" --init-from "$work/abcrun/checkpoint"
if "$glassbox" eval --ckpt "$ckpt" --data "$work/good/val_000000.bin" --batch-size 1 --block-size 16 >/dev/null 2>"$work/err"; then
  echo "ok   unstamped (llm.c) shards still evaluate"
else
  fail "unstamped shards no longer evaluate: $(cat "$work/err")"
fi

# Messages that name what they got.
expect_error "mistyped command" "unknown command 'trian' (did you mean 'train'?)" -- "$glassbox" trian
expect_error "control characters in a flag, escaped" 'bo\\r\\ngus' -- "$glassbox" train $'--bo\r\ngus' 3

# Valid input: a model trained with --block-size 1 (context of one token) samples more than one token.
"$glassbox" train --n-layer 1 --n-head 1 --n-embd 8 --block-size 1 --batch-size 2 --max-steps 1 \
  --train-data "$work/good/train_000000.bin" --val-data "$work/good/val_000000.bin" --out-dir "$work/t1" >/dev/null 2>&1 &&
  "$glassbox" sample --ckpt "$work/t1/checkpoint" --prompt a --max-new-tokens 5 >"$work/t1.out" 2>"$work/err"
if [ "$(head -c 6 "$work/t1.out" | wc -c)" -eq 6 ]; then
  echo "ok   --block-size 1: sampled $(head -n 1 "$work/t1.out")"
else
  fail "--block-size 1 model could not sample 5 tokens: $(cat "$work/err")"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures bad-input case(s) failed"
  exit 1
fi
echo "all bad-input cases gave a clear error"
