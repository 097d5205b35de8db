#include "llm/backend/profiling_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "llm/core/arena.hpp"
#include "llm/core/clock.hpp"

namespace llm {

namespace {

double bytes_of(const Tensor& t) { return t.empty() ? 0.0 : double(t.nbytes()); }
// A gradient that is accumulated into (+=) is read and written.
double accumulated(const Tensor& t) { return 2.0 * bytes_of(t); }

// Causal attention over (B, NH, T) queries: the scores q k^T and the weighted sum p v each cost hs
// multiply-adds (2 hs FLOPs) per (query, visible key) pair, and query t sees t + 1 keys.
double causal_attention_flops(const Tensor& qkv, int NH) {
  const double B = double(qkv.size(0)), T = double(qkv.size(1)), C = double(qkv.size(2) / 3);
  const double hs = C / NH;
  const double pairs = B * NH * T * (T + 1) / 2;
  return 2 * 2 * hs * pairs;
}

}  // namespace

double ProfilingBackend::seconds_since_synchronized(std::chrono::steady_clock::time_point start) {
  inner_.synchronize();
  return seconds_since(start);
}

void ProfilingBackend::book(const char* op, double seconds, double bytes, double flops) {
  auto row =
      std::find_if(rows_.begin(), rows_.end(), [&](const OpProfile& r) { return r.op == op; });
  if (row == rows_.end()) row = rows_.insert(rows_.end(), OpProfile{op});
  row->calls++;
  row->seconds += seconds;
  row->bytes += bytes;
  row->flops += flops;
}

void ProfilingBackend::zero(Tensor t) {
  timed("zero", bytes_of(t), 0, [&] { inner_.zero(t); });
}
void ProfilingBackend::copy_to_host(void* host, Tensor src) {
  timed("copy_to_host", bytes_of(src), 0, [&] { inner_.copy_to_host(host, src); });
}
void ProfilingBackend::copy_from_host(Tensor dst, const void* host) {
  timed("copy_from_host", bytes_of(dst), 0, [&] { inner_.copy_from_host(dst, host); });
}
void ProfilingBackend::convert(Tensor dst, Tensor src) {
  timed("convert", bytes_of(dst) + bytes_of(src), 0, [&] { inner_.convert(dst, src); });
}

void ProfilingBackend::encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe,
                                       int pos0) {
  // out, and one row of wte and of wpe per output row
  timed("encoder_forward", 3 * bytes_of(out) + bytes_of(tokens), 0,
        [&] { inner_.encoder_forward(out, tokens, wte, wpe, pos0); });
}
void ProfilingBackend::encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
  // dout, at most one dwte row per position (accumulated), and the T rows of dwpe (accumulated)
  const double dwpe_rows = bytes_of(dout) / double(tokens.size(0));
  timed("encoder_backward", bytes_of(dout) + bytes_of(tokens) + 2 * bytes_of(dout) + 2 * dwpe_rows,
        0, [&] { inner_.encoder_backward(dwte, dwpe, dout, tokens); });
}

void ProfilingBackend::layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                          Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  const double bytes = accumulated(dinp) + accumulated(dweight) + accumulated(dbias) +
                       bytes_of(dout) + bytes_of(inp) + bytes_of(weight) + bytes_of(mean) +
                       bytes_of(rstd);
  timed("layernorm_backward", bytes, 0,
        [&] { inner_.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd); });
}

void ProfilingBackend::matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) {
  const double flops = 2.0 * double(inp.rows()) * double(inp.last_dim()) * double(weight.size(0));
  timed("matmul_forward", bytes_of(out) + bytes_of(inp) + bytes_of(weight) + bytes_of(bias), flops,
        [&] { inner_.matmul_forward(out, inp, weight, bias); });
}
void ProfilingBackend::matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                       Tensor inp, Tensor weight) {
  const double one_product =
      2.0 * double(inp.rows()) * double(inp.last_dim()) * double(weight.size(0));
  const double flops = (dinp.empty() ? 1 : 2) * one_product;
  const double bytes = accumulated(dinp) + accumulated(dweight) + accumulated(dbias) +
                       bytes_of(dout) + bytes_of(inp) + bytes_of(weight);
  timed("matmul_backward", bytes, flops,
        [&] { inner_.matmul_backward(dinp, dweight, dbias, dout, inp, weight); });
}

void ProfilingBackend::attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) {
  timed("attention_forward", bytes_of(out) + bytes_of(state) + bytes_of(qkv),
        causal_attention_flops(qkv, NH), [&] { inner_.attention_forward(out, state, qkv, NH); });
}
void ProfilingBackend::attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv,
                                          Tensor out, Tensor state, int NH) {
  // Recomputing the scores, then dv, dp, dq and dk: five products of the forward's two-product
  // size.
  const double bytes = accumulated(dqkv) + bytes_of(scratch) + bytes_of(dout) + bytes_of(qkv) +
                       bytes_of(out) + bytes_of(state);
  timed("attention_backward", bytes, 2.5 * causal_attention_flops(qkv, NH),
        [&] { inner_.attention_backward(dqkv, scratch, dout, qkv, out, state, NH); });
}
void ProfilingBackend::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  timed("gelu_backward", accumulated(dinp) + bytes_of(inp) + bytes_of(dout), 0,
        [&] { inner_.gelu_backward(dinp, inp, dout); });
}
void ProfilingBackend::residual_backward(Tensor da, Tensor db, Tensor dout) {
  timed("residual_backward", accumulated(da) + accumulated(db) + bytes_of(dout), 0,
        [&] { inner_.residual_backward(da, db, dout); });
}

void ProfilingBackend::classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                                          double dloss) {
  const double bytes =
      (dloss != 0 ? 2 : 1) * bytes_of(logits) + bytes_of(losses) + bytes_of(targets);
  timed("classifier_forward", bytes, 0,
        [&] { inner_.classifier_forward(losses, logits, targets, V, dloss); });
}

void ProfilingBackend::adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                                    const AdamWSettings& settings, double grad_scale) {
  const double bytes =
      (master.empty() ? accumulated(param) : bytes_of(param) + accumulated(master)) +
      bytes_of(grad) + accumulated(m) + accumulated(v);
  timed("adamw_update", bytes, 0,
        [&] { inner_.adamw_update(param, grad, m, v, master, settings, grad_scale); });
}

void print_profile(const std::vector<OpProfile>& rows, int steps, double copy_gbps) {
  std::vector<OpProfile> sorted = rows;
  std::sort(sorted.begin(), sorted.end(),
            [](const OpProfile& a, const OpProfile& b) { return a.seconds > b.seconds; });
  double total = 0;
  for (const OpProfile& r : sorted) total += r.seconds;
  std::printf("%-26s %8s %10s %7s %9s %14s\n", "op", "calls", "ms/step", "share", "GB/s",
              copy_gbps > 0 ? "copy-bw / TFLOP/s" : "TFLOP/s");
  for (const OpProfile& r : sorted) {
    const double gbps = r.bytes / r.seconds / 1e9;
    char last[32] = "";
    if (r.flops > 0)
      std::snprintf(last, sizeof last, "%.1f TFLOP/s", r.flops / r.seconds / 1e12);
    else if (copy_gbps > 0)
      std::snprintf(last, sizeof last, "%.0f%% of copy", 100 * gbps / copy_gbps);
    std::printf("%-26s %8lld %10.3f %6.1f%% %9.0f %14s\n", r.op.c_str(),
                (long long)(r.calls / std::max(steps, 1)), r.seconds / std::max(steps, 1) * 1e3,
                100 * r.seconds / total, gbps, last);
  }
  std::printf("%-26s %8s %10.3f\n", "total (ops, synchronised)", "",
              total / std::max(steps, 1) * 1e3);
}

namespace {
struct TwoBuffers {
  int64_t n = 0;
  Tensor a, b;
  template <typename Fn> void visit(Fn&& fn) {
    fn("a", a, Shape{n});
    fn("b", b, Shape{n});
  }
};
}  // namespace

double measure_copy_bandwidth(Backend& backend, size_t bytes) {
  TwoBuffers buffers;
  buffers.n = int64_t(bytes / dtype_size(backend.master_dtype()));
  Arena memory;
  memory.carve(backend, backend.master_dtype(), buffers);
  backend.convert(buffers.b, buffers.a);  // warm-up
  backend.synchronize();
  constexpr int kRepeats = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRepeats; i++) backend.convert(buffers.b, buffers.a);
  backend.synchronize();
  const double seconds = seconds_since(start);
  return 2.0 * double(buffers.a.nbytes()) * kRepeats / seconds / 1e9;
}

}  // namespace llm
