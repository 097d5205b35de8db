# The CUDA backend on the CPU emulation of CUDA (kernels/emulation/): the suite "cuda" of the op
# tests (tests/ops/), what the GPU runs, built against the real kernels compiled by the host
# compiler (test_ops_emulated, test_ops_emulated_tsan). No GPU and no CUDA toolkit needed.
#   test_cuda_ops_emulated        label cuda_emulated: AddressSanitizer + UBSan, small shapes (CI)
#   test_cuda_ops_emulated_tsan   label cuda_emulated: ThreadSanitizer (races between the threads
#                                 of a block), the op tests at small shapes
#   test_cuda_ops_emulated_large  label cuda_emulated_large, only with
#                                 -DGLASSBOX_CUDA_EMULATION_LARGE=ON: the real shapes (attention at
#                                 T = 1024, V = 50257, matmuls up to 3072), ten AdamW steps; not in
#                                 CI (it takes long, see kernels/README.md)
option(GLASSBOX_CUDA_EMULATION_LARGE "Register the emulated CUDA tests at the real shapes (label cuda_emulated_large)" OFF)

foreach(variant cuda_emulation cuda_emulation_tsan)
  if(NOT TARGET ${variant})  # no TSan variant in a GLASSBOX_SANITIZE build
    continue()
  endif()
  set(name test_ops_emulated)
  if(variant STREQUAL cuda_emulation_tsan)
    set(name test_ops_emulated_tsan)
  endif()
  add_executable(${name} ${OP_TEST_SOURCES} $<TARGET_OBJECTS:doctest_main>)
  set_target_properties(${name} PROPERTIES UNITY_BUILD ON
                                           UNITY_BUILD_BATCH_SIZE ${OP_TEST_UNITY_BATCH})
  target_link_libraries(${name} PRIVATE ${variant} llm doctest::doctest)
  target_compile_definitions(${name} PRIVATE GLASSBOX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # The kernels (cuda_emulation) are compiled with the build's optimisation; the tests' own code
  # at -O1, which compiles in a third of the time under the sanitizers.
  target_compile_options(${name} PRIVATE -O1)
endforeach()

# A fault the sanitizers find ends the test with a report; halt_on_error makes UBSan do so too.
# In CI the emulated device has 8 SMs instead of the H100's 132: the grids sized by the SM count
# (sum_of_squares, layernorm's dweight partials) shrink 16x, and the run with them.
set(EMULATION_ENV "GLASSBOX_CUDA_TEST_SHAPES=small;GLASSBOX_EMULATION_SM_COUNT=8;OMP_NUM_THREADS=2;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
add_test(NAME test_cuda_ops_emulated COMMAND test_ops_emulated -ts=cuda)
set_tests_properties(test_cuda_ops_emulated PROPERTIES LABELS "cuda_emulated" TIMEOUT 1200 COST 50
                     ENVIRONMENT "${EMULATION_ENV}")
# The whole-model tests add nothing a race could hide in that the op tests miss: leave them out.
if(TARGET test_ops_emulated_tsan)
  add_test(NAME test_cuda_ops_emulated_tsan COMMAND test_ops_emulated_tsan -ts=cuda -tce=*GPT*)
  set_tests_properties(test_cuda_ops_emulated_tsan PROPERTIES LABELS "cuda_emulated" TIMEOUT 1200 COST 100
                       ENVIRONMENT "GLASSBOX_CUDA_TEST_SHAPES=small;GLASSBOX_EMULATION_SM_COUNT=8;OMP_NUM_THREADS=1;TSAN_OPTIONS=halt_on_error=1")
endif()
if(GLASSBOX_CUDA_EMULATION_LARGE)
  add_test(NAME test_cuda_ops_emulated_large COMMAND test_ops_emulated -ts=cuda)
  set_tests_properties(test_cuda_ops_emulated_large PROPERTIES LABELS "cuda_emulated_large" TIMEOUT 7200
                       ENVIRONMENT "GLASSBOX_CUDA_TEST_SHAPES=large;OMP_NUM_THREADS=2")
endif()

# The emulator's own checks (tests/emulation/test_emulator.cpp): kernels right and wrong, on the
# AddressSanitizer build; and the watchdog, which must abort a kernel that never returns.
if(TARGET cuda_emulation)
  add_executable(test_emulator emulation/test_emulator.cpp $<TARGET_OBJECTS:doctest_main>)
  target_link_libraries(test_emulator PRIVATE cuda_emulation llm doctest::doctest)
  add_test(NAME test_cuda_emulator COMMAND test_emulator)
  set_tests_properties(test_cuda_emulator PROPERTIES LABELS "cuda_emulated" TIMEOUT 120
                       ENVIRONMENT "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  # Passes when the run aborts with the watchdog's message (ctest fails an aborted process
  # whatever it printed, hence the shell).
  add_test(NAME test_cuda_emulator_hang
           COMMAND sh -c "\"$0\" --no-skip -tc=*watchdog* 2>&1 | grep 'has not finished after 1 s: a thread of it neither returns nor reaches a barrier'"
                   $<TARGET_FILE:test_emulator>)
  set_tests_properties(test_cuda_emulator_hang PROPERTIES LABELS "cuda_emulated" TIMEOUT 60
                       ENVIRONMENT "GLASSBOX_EMULATION_TIMEOUT=1")
endif()
