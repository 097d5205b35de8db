#pragma once
// Lesson 03: backprop by hand. The functions you write in exercise.cpp. They have the library's
// signatures (llm/backend/cpu/{matmul,gelu,layernorm}.hpp): outputs, then inputs, then sizes, and
// every backward ADDS (+=) into its gradient outputs.
#include <cstdint>
#include <functional>
#include <vector>

namespace lesson03 {

// ---- finite differences: the referee for every backward you will ever write ----
// The gradient of a scalar f at x by central differences, one coordinate at a time:
//   g[i] = ( f(x + h e_i) - f(x - h e_i) ) / (2 h)
std::vector<double> numerical_gradient(const std::function<double(const std::vector<double>&)>& f,
                                       std::vector<double> x, double h);

// ---- linear layer, PyTorch nn.Linear layout ----
//   out[n, o] = sum_c inp[n, c] * weight[o, c] + bias[o]        out (N, OC), inp (N, C), weight
//   (OC, C)
// bias may be nullptr (no bias).
void linear_forward(double* out, const double* inp, const double* weight, const double* bias,
                    int64_t N, int64_t C, int64_t OC);
//   dinp += dout @ weight,  dweight += dout^T @ inp,  dbias += sum_n dout[n, :]
// dinp may be nullptr (skip it), dbias may be nullptr (no bias).
void linear_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                     const double* inp, const double* weight, int64_t N, int64_t C, int64_t OC);

// ---- GELU, tanh approximation (GPT-2's), element-wise over N values ----
//   gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
void gelu_forward(double* out, const double* inp, int64_t N);
//   dinp += dout * gelu'(inp)
void gelu_backward(double* dinp, const double* inp, const double* dout, int64_t N);

// ---- layernorm over the last dimension, eps = 1e-5 ----
//   mean, var (biased) of each row; rstd = 1/sqrt(var + eps); out = (x - mean) rstd weight + bias
// out, inp (N, C); mean, rstd (N) saved for the backward; weight, bias (C)
void layernorm_forward(double* out, double* mean, double* rstd, const double* inp,
                       const double* weight, const double* bias, int64_t N, int64_t C);
//   dinp += rstd (g - mean_c(g) - xhat mean_c(g xhat)) with g = dout weight
//   dweight += sum_n dout xhat,  dbias += sum_n dout
void layernorm_backward(double* dinp, double* dweight, double* dbias, const double* dout,
                        const double* inp, const double* weight, const double* mean,
                        const double* rstd, int64_t N, int64_t C);

}  // namespace lesson03
