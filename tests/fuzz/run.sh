#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) against the readers they test, and runs
# each for SECONDS (default 60), one after the other. Corpus-free: a few valid seed files are made
# in a scratch directory at the start (nothing is committed); findings go to build-fuzz/.
#
#   tests/fuzz/run.sh 180            # both harnesses, 3 minutes each
#   tests/fuzz/run.sh 60 shard       # only fuzz_shard
# Reproduce a finding: build-fuzz/fuzz_safetensors build-fuzz/crash-<hash>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-60}"
only="${2:-}"
out="$root/build-fuzz"
mkdir -p "$out"
cxx="${CXX_FUZZ:-clang++}"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -I"$root")

build() {  # build NAME SOURCES...
  local name=$1
  shift
  echo "building $out/$name"
  "$cxx" "${flags[@]}" "$root/tests/fuzz/$name.cpp" "$@" -o "$out/$name"
}
build fuzz_safetensors "$root/llm/io/safetensors.cpp"
build fuzz_shard "$root/llm/data/shard.cpp"

# Seeds: one valid file of each kind.
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/safetensors" "$seeds/shard"
/usr/bin/python3 - "$seeds" <<'PY'
import json, struct, sys
seeds = sys.argv[1]
def safetensors(path, tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
safetensors(f"{seeds}/safetensors/a", {"w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                       "b": ("BF16", [3], b"\x80\x3f" * 3)}, {"format": "pt"})
safetensors(f"{seeds}/safetensors/b", {"h": ("F16", [1, 2], b"\x00\x3c\x00\xc0"),
                                       "d": ("F64", [1], struct.pack("<d", 0.5)),
                                       "i": ("I32", [0], b"")})
def shard(path, version, tokens):
    header = [20240520, version, len(tokens)] + [0] * 253
    fmt = "<%dH" % len(tokens) if version == 1 else "<%dI" % len(tokens)
    open(path, "wb").write(struct.pack("<256i", *header) + struct.pack(fmt, *tokens))
shard(f"{seeds}/shard/v1", 1, [1, 2, 65535, 0])
shard(f"{seeds}/shard/v2", 2, [70000, 3])
shard(f"{seeds}/shard/empty", 1, [])
PY

fuzz() {  # fuzz NAME SEED_DIR [extra libFuzzer flags]
  local name=$1 seed_dir=$2
  shift 2
  local corpus="$out/corpus_$name"
  mkdir -p "$corpus"
  echo "fuzzing $name for ${seconds}s"
  if (cd "$out" && "./$name" "$corpus" "$seed_dir" -max_total_time="$seconds" -max_len=4096 \
        -rss_limit_mb=2048 -print_final_stats=1 "$@" >"$out/$name.log" 2>&1); then
    grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)" "$out/$name.log"
  else
    echo "FINDING in $name (see $out/$name.log and the crash-* file it names):"
    grep -v '^#' "$out/$name.log" | head -n 20
    status=1
  fi
}
status=0
if [[ -z "$only" || "$only" == safetensors ]]; then
  fuzz fuzz_safetensors "$seeds/safetensors" -dict="$root/tests/fuzz/safetensors.dict"
fi
if [[ -z "$only" || "$only" == shard ]]; then
  fuzz fuzz_shard "$seeds/shard"
fi
exit $status
