#include "llm/backend/cpu/encoder.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

#include <string>

namespace llm::cpu {

template <typename T> void encoder_forward(T* out, const int32_t* tokens, const T* wte,
                                           const T* wpe, int64_t B, int64_t Tlen, int64_t C,
                                           int64_t pos0) {
#pragma omp parallel for
  for (int64_t bt = 0; bt < B * Tlen; bt++) {
    const int64_t t = bt % Tlen;
    const T* token_row = wte + static_cast<int64_t>(tokens[bt]) * C;
    T* out_row = out + bt * C;
    if (wpe == nullptr) {  // no learned positions
      for (int64_t c = 0; c < C; c++) out_row[c] = token_row[c];
      continue;
    }
    const T* position_row = wpe + (pos0 + t) * C;
    for (int64_t c = 0; c < C; c++) out_row[c] = token_row[c] + position_row[c];
  }
}

template <typename T> void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens,
                                            int64_t B, int64_t Tlen, int64_t C) {
  // dwpe: each thread owns whole positions t, so no two threads write the same row.
#pragma omp parallel for
  for (int64_t t = 0; t < (dwpe == nullptr ? 0 : Tlen); t++) {
    T* dpos = dwpe + t * C;
    for (int64_t b = 0; b < B; b++) {
      const T* d = dout + (b * Tlen + t) * C;
      for (int64_t c = 0; c < C; c++) dpos[c] += d[c];
    }
  }
  // dwte: a token can repeat anywhere in the batch, so this scatter-add stays serial (it is
  // B*Tlen*C additions, small next to any matmul).
  for (int64_t bt = 0; bt < B * Tlen; bt++) {
    T* dtok = dwte + static_cast<int64_t>(tokens[bt]) * C;
    const T* d = dout + bt * C;
    for (int64_t c = 0; c < C; c++) dtok[c] += d[c];
  }
}

template void encoder_forward<float>(float*, const int32_t*, const float*, const float*, int64_t,
                                     int64_t, int64_t, int64_t);
template void encoder_forward<double>(double*, const int32_t*, const double*, const double*,
                                      int64_t, int64_t, int64_t, int64_t);
template void encoder_backward<float>(float*, float*, const float*, const int32_t*, int64_t,
                                      int64_t, int64_t);
template void encoder_backward<double>(double*, double*, const double*, const int32_t*, int64_t,
                                       int64_t, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/encoder.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

namespace {
// The token ids are on the host here (on a GPU they are not), so they are range-checked too.
void check_token_range(const char* op, const int32_t* tokens, int64_t n, int64_t Vp) {
  for (int64_t i = 0; i < n; i++)
    check(tokens[i] >= 0 && tokens[i] < Vp,
          std::string(op) + ": token " + std::to_string(tokens[i]) + " at index " +
              std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(Vp) + ")");
}
}  // namespace

template <typename T>
void CpuBackend<T>::encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) {
  check_encoder_forward(*this, out, tokens, wte, wpe, pos0);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = wte.size(0), C = wte.size(1);
  const int32_t* tok = tokens.ptr<int32_t>();
  check_token_range("encoder_forward", tok, B * Tlen, Vp);
  const T* positions = wpe.empty() ? nullptr : wpe.ptr<T>();  // none with rope
  cpu::encoder_forward(out.ptr<T>(), tok, wte.ptr<T>(), positions, B, Tlen, C, pos0);
}

template <typename T>
void CpuBackend<T>::encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
  check_encoder_backward(*this, dwte, dwpe, dout, tokens);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = dwte.size(0), C = dwte.size(1);
  const int32_t* tok = tokens.ptr<int32_t>();
  check_token_range("encoder_backward", tok, B * Tlen, Vp);
  T* dpositions = dwpe.empty() ? nullptr : dwpe.ptr<T>();  // none with rope
  cpu::encoder_backward(dwte.ptr<T>(), dpositions, dout.ptr<T>(), tok, B, Tlen, C);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::encoder_forward(Tensor, Tensor, Tensor, Tensor, int);
template void CpuBackend<double>::encoder_forward(Tensor, Tensor, Tensor, Tensor, int);
template void CpuBackend<float>::encoder_backward(Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<double>::encoder_backward(Tensor, Tensor, Tensor, Tensor);

}  // namespace llm
