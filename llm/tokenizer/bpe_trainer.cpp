// Byte-level BPE training with incremental pair counts (the standard approach, as in Hugging Face
// tokenizers and Sennrich's subword-nmt), producing GPT-2-format files.
//
// State, for W distinct words:
//   words[w].ids       the word's current tokens;  words[w].count  how often the word occurs
//   pair_count[(a,b)]  sum over words of count * (number of adjacent positions holding a,b)
//   where[(a,b)]       words that contained (a,b) when it was counted (may hold stale entries)
//   heap               (count, a, b) entries; an entry is live when its count equals pair_count now
// A merge of (a,b) -> m visits only where[(a,b)]: for each word it removes the word's pairs from
// the counts, merges left to right, adds the new pairs back, and pushes a fresh heap entry for
// every pair whose count changed. Cost per merge ~ the total length of the words that contain the
// pair.
#include "llm/tokenizer/bpe_trainer.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <queue>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace llm {

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t key_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t key_right(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

// Distinct words of all texts and their counts. Texts are cut into chunks (gpt2_split_text keeps
// the word boundaries) that threads pre-tokenize into private maps, merged at the end.
std::unordered_map<std::string_view, int64_t> count_words(
    const std::vector<std::string_view>& texts, int threads) {
  std::vector<std::string_view> chunks;
  for (std::string_view text : texts) {
    size_t pos = 0;
    while (true) {  // "<|endoftext|>" separates documents and is never part of a word
      size_t hit = text.find(kEndOfText, pos);
      std::string_view part = text.substr(pos, hit == std::string_view::npos ? hit : hit - pos);
      for (std::string_view c : gpt2_split_text(part, 1 << 20)) chunks.push_back(c);
      if (hit == std::string_view::npos) break;
      pos = hit + kEndOfText.size();
    }
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(threads, chunks.size()));
  std::vector<std::unordered_map<std::string_view, int64_t>> local(std::max(threads, 1));
  auto work = [&](int t) {
    Gpt2Splitter splitter;
    for (size_t c = t; c < chunks.size(); c += threads) {
      size_t pos = 0;
      while (pos < chunks[c].size()) ++local[t][splitter.next(chunks[c], pos)];
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  if (threads > 0) work(0);
  for (auto& th : pool) th.join();
  for (size_t t = 1; t < local.size(); ++t)
    for (auto& [w, n] : local[t]) local[0][w] += n;
  return std::move(local[0]);
}

}  // namespace

BpeVocabulary train_bpe(const std::vector<std::string_view>& texts, int vocab_size, int threads) {
  check(vocab_size >= 257, "train_bpe: vocab size " + std::to_string(vocab_size) +
                               " is below 257 (256 byte tokens + <|endoftext|>)");
  BpeVocabulary out;

  // Base tokens in GPT-2's order: the bytes that stand for themselves, then the rest.
  const auto& b2u = gpt2_byte_to_unicode();
  std::vector<int> order(256);
  for (int b = 0; b < 256; ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b2u[x] < b2u[y]; });
  std::vector<std::string>& tokens = out.tokens;
  std::array<int32_t, 256> byte_id{};
  for (int i = 0; i < 256; ++i) {
    tokens.push_back(std::string(1, static_cast<char>(order[i])));
    byte_id[order[i]] = i;
  }
  std::unordered_map<std::string, int32_t> id_of;
  for (int i = 0; i < 256; ++i) id_of[tokens[i]] = i;

  // Words.
  struct Word {
    std::vector<int32_t> ids;
    int64_t count;
  };
  std::vector<Word> words;
  {
    auto counts = count_words(texts, threads);
    std::vector<std::pair<std::string_view, int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(),
              sorted.end());  // a deterministic word order (merges do not depend on it)
    for (auto& [w, n] : sorted) {
      if (w.size() < 2) continue;  // a one-byte word has no pairs
      Word word{{}, n};
      for (unsigned char c : w) word.ids.push_back(byte_id[c]);
      words.push_back(std::move(word));
    }
  }

  // Pair counts and the pair -> words index.
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& ids = words[w].ids;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      uint64_t k = pair_key(ids[i], ids[i + 1]);
      pair_count[k] += words[w].count;
      auto& list = where[k];
      if (list.empty() || list.back() != static_cast<int32_t>(w))
        list.push_back(static_cast<int32_t>(w));
    }
  }

  struct Entry {
    int64_t count;
    int32_t a, b;
  };
  // "less" for a max-heap: lower count first, then the lexicographically smaller pair.
  auto less = [&tokens](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count < y.count;
    int c = tokens[x.a].compare(tokens[y.a]);
    if (c != 0) return c < 0;
    return tokens[x.b] < tokens[y.b];
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(less)> heap(less);
  for (auto& [k, n] : pair_count) heap.push({n, key_left(k), key_right(k)});

  std::vector<int32_t> seen(words.size(), -1);  // seen[w] == merge number: already visited
  std::vector<uint64_t> touched;
  auto add_pairs = [&](int32_t w, int64_t sign) {
    const auto& ids = words[w].ids;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      uint64_t k = pair_key(ids[i], ids[i + 1]);
      pair_count[k] += sign * words[w].count;
      touched.push_back(k);
      if (sign > 0) {
        auto& list = where[k];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
    }
  };

  while (static_cast<int>(tokens.size()) < vocab_size - 1 && !heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    uint64_t key = pair_key(top.a, top.b);
    auto live = pair_count.find(key);
    if (live == pair_count.end() || live->second != top.count || top.count <= 0) continue;  // stale

    std::string merged_bytes = tokens[top.a] + tokens[top.b];
    int32_t m;
    if (auto it = id_of.find(merged_bytes); it != id_of.end()) {
      m = it->second;  // the same bytes were already made by another merge
    } else {
      m = static_cast<int32_t>(tokens.size());
      tokens.push_back(merged_bytes);
      id_of.emplace(merged_bytes, m);
    }
    const int32_t merge_no = static_cast<int32_t>(out.merges.size());
    out.merges.emplace_back(tokens[top.a], tokens[top.b]);

    touched.clear();
    std::vector<int32_t> visit = std::move(where[key]);
    where.erase(key);
    for (int32_t w : visit) {
      if (seen[w] == merge_no) continue;
      seen[w] = merge_no;
      auto& ids = words[w].ids;
      bool has = false;
      for (size_t i = 0; i + 1 < ids.size() && !has; ++i)
        has = ids[i] == top.a && ids[i + 1] == top.b;
      if (!has) continue;  // a stale index entry
      add_pairs(w, -1);
      size_t wr = 0, rd = 0, n = ids.size();
      while (rd < n) {
        if (rd + 1 < n && ids[rd] == top.a && ids[rd + 1] == top.b) {
          ids[wr++] = m;
          rd += 2;
        } else {
          ids[wr++] = ids[rd++];
        }
      }
      ids.resize(wr);
      add_pairs(w, +1);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint64_t k : touched) {
      auto it = pair_count.find(k);
      if (it->second > 0) {
        heap.push({it->second, key_left(k), key_right(k)});
      } else {
        pair_count.erase(it);
      }
    }
  }
  tokens.push_back(std::string(kEndOfText));
  return out;
}

void write_gpt2_files(const BpeVocabulary& vocab, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  // encoder.json in id order, like OpenAI's ({"!": 0, "\"": 1, ...}); keys are UTF-8, not
  // \u-escaped.
  std::string enc = "{";
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    const std::string& t = vocab.tokens[id];
    std::string key =
        (id + 1 == vocab.tokens.size() && t == kEndOfText) ? t : gpt2_bytes_to_unicode_string(t);
    enc += (id ? ", " : "") + nlohmann::json(key).dump() + ": " + std::to_string(id);
  }
  enc += "}";
  std::string bpe = "#version: 0.2\n";
  for (const auto& [a, b] : vocab.merges)
    bpe += gpt2_bytes_to_unicode_string(a) + " " + gpt2_bytes_to_unicode_string(b) + "\n";
  for (auto [name, text] : {std::pair{"encoder.json", &enc}, std::pair{"vocab.bpe", &bpe}}) {
    std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
    f.write(text->data(), static_cast<std::streamsize>(text->size()));
    if (!f) throw Error((dir / name).string() + ": write failed");
  }
}

}  // namespace llm
