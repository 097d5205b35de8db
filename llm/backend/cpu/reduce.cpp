#include "llm/backend/cpu/reduce.hpp"

namespace llm::cpu {

template <typename T> double sum_of_squares(const T* x, int64_t N) {
  double sum = 0.0;
#pragma omp parallel for simd reduction(+ : sum)
  for (int64_t i = 0; i < N; i++) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return sum;
}

template double sum_of_squares<float>(const float*, int64_t);
template double sum_of_squares<double>(const double*, int64_t);

}  // namespace llm::cpu
