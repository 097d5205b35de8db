// Reference GPT-2 ids from the npm package gpt-3-encoder (a port of OpenAI's encoder.py).
//   node reference_ids.js INPUT.txt OUTPUT.json      writes the ids of INPUT as a JSON array
//   node reference_ids.js --bench INPUT.txt [REPS]   prints "npm_mb_per_s <value>" instead
// gpt-3-encoder builds its result with Array.concat per word, which is quadratic in the text
// length, so the text is encoded in chunks cut where the GPT-2 regex always ends a word: before a
// space whose previous character is not whitespace (no regex alternative can continue over it).
// Concatenating the chunks' ids gives exactly the ids of the whole text.
'use strict';
const fs = require('fs');
const path = require('path');
const { encode } = require(path.join(__dirname, 'node_modules', 'gpt-3-encoder'));

function chunks(text, size) {
  const out = [];
  let start = 0;
  let p = size;
  while (p < text.length) {
    if (text[p] === ' ' && !/\s/u.test(text[p - 1])) {
      out.push(text.slice(start, p));
      start = p;
      p += size;
    } else {
      p += 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function encodeAll(text) {
  const ids = [];
  for (const c of chunks(text, 4096)) for (const id of encode(c)) ids.push(id);
  return ids;
}

const args = process.argv.slice(2);
if (args[0] === '--bench') {
  const text = fs.readFileSync(args[1], 'utf-8');
  const reps = Number(args[2] || 1);
  const bytes = Buffer.byteLength(text, 'utf-8');
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const ids = encodeAll(text);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (ids.length === 0 && bytes > 0) throw new Error('no ids');
    best = Math.min(best, dt);
  }
  console.log(`npm_mb_per_s ${(bytes / 1e6 / best).toFixed(3)}`);
} else {
  if (args.length !== 2) {
    console.error('usage: node reference_ids.js INPUT.txt OUTPUT.json');
    process.exit(2);
  }
  const ids = encodeAll(fs.readFileSync(args[0], 'utf-8'));
  fs.writeFileSync(args[1], JSON.stringify(ids));
}
