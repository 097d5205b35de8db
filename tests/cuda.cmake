# The CUDA backend against its CPU twin (tests/test_cuda_ops.cpp: every op, the whole model, ten
# AdamW steps), label "cuda": `ctest -L '^cuda$'` runs it alone, `ctest -LE '^cuda$'` leaves it out
# (anchored: label cuda_emulated, tests/cuda_emulated.cmake, is the same file on the CPU emulation).
# The test itself is built like every tests/test_*.cpp; without a GPU (or without the CUDA backend in
# the build) each of its test cases prints "SKIPPED (no GPU: <why>): <name>" and passes.
set_tests_properties(test_cuda_ops PROPERTIES LABELS "cuda" TIMEOUT 300)
