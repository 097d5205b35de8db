#include "llm/backend/cpu/encoder.hpp"

namespace llm::cpu {

template <typename T>
void encoder_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int64_t B,
                     int64_t Tlen, int64_t C, int64_t pos0) {
#pragma omp parallel for
  for (int64_t bt = 0; bt < B * Tlen; bt++) {
    const int64_t t = bt % Tlen;
    const T* token_row = wte + static_cast<int64_t>(tokens[bt]) * C;
    const T* position_row = wpe + (pos0 + t) * C;
    T* out_row = out + bt * C;
    for (int64_t c = 0; c < C; c++) out_row[c] = token_row[c] + position_row[c];
  }
}

template <typename T>
void encoder_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int64_t B,
                      int64_t Tlen, int64_t C) {
  // dwpe: each thread owns whole positions t, so no two threads write the same row.
#pragma omp parallel for
  for (int64_t t = 0; t < Tlen; t++) {
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
