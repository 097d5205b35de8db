#!/bin/sh
# Installs the GPT-2 reference encoder (npm gpt-3-encoder 1.1.4) into tests/tokenizer/node_modules
# when it is not there yet. Fails with a clear message when node or npm is missing.
set -e
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "tokenizer equivalence test: node and npm are required (Node.js 20; apt-get install nodejs npm)" >&2
  exit 1
fi
if [ -f "$here/node_modules/gpt-3-encoder/Encoder.js" ]; then exit 0; fi
echo "installing gpt-3-encoder@1.1.4 into $here/node_modules" >&2
npm install --no-audit --no-fund --prefix "$here" gpt-3-encoder@1.1.4 >&2
