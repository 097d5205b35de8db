# The CUDA backend against its CPU twin (the suite "cuda" of test_ops, tests/ops/: every op, the
# whole model, ten AdamW steps), label "cuda": `ctest -L '^cuda$'` runs it alone, `ctest -LE '^cuda$'` leaves it out
# (anchored: label cuda_emulated, tests/cuda_emulated.cmake, is the same file on the CPU emulation).
# Without a GPU (or without the CUDA backend in
# the build) each of its test cases prints "SKIPPED (no GPU: <why>): <name>" and passes.
add_test(NAME test_cuda_ops COMMAND test_ops -ts=cuda)
set_tests_properties(test_cuda_ops PROPERTIES LABELS "cuda" TIMEOUT 300)
