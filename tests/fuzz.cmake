# Fuzzing in CI (label fuzz): each harness in tests/fuzz/ runs every input of its directory in
# tests/fuzz/inputs/ (the seeds and every input that ever crashed it), then mutated inputs for
# GLASSBOX_FUZZ_SECONDS seconds, under AddressSanitizer and UBSan: the harness, and the readers it
# tests in llm_sanitized (tests/CMakeLists.txt). Built with the host compiler
# (tests/fuzz/mutation_driver.cpp is main()): no clang or libFuzzer needed.
# Longer runs: tests/fuzz/run.sh SECONDS [FORMAT].
set(GLASSBOX_FUZZ_SECONDS 15 CACHE STRING "Seconds of mutated inputs per fuzz harness in ctest (label fuzz)")

add_library(fuzz_driver OBJECT fuzz/mutation_driver.cpp)
target_compile_options(fuzz_driver PRIVATE ${GLASSBOX_SANITIZER_FLAGS})

# fuzz_harness(FORMAT): tests/fuzz/fuzz_FORMAT.cpp and its ctest entry fuzz_FORMAT.
function(fuzz_harness format)
  set(name fuzz_${format})
  add_executable(${name} fuzz/${name}.cpp $<TARGET_OBJECTS:fuzz_driver>)
  target_compile_options(${name} PRIVATE ${GLASSBOX_SANITIZER_FLAGS} -O1 -g)
  target_link_libraries(${name} PRIVATE llm_sanitized)
  set(dict ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${format}.dict)
  set(dict_args)
  if(EXISTS ${dict})
    set(dict_args --dict ${dict})
  endif()
  add_test(NAME ${name}
           COMMAND ${name} --seconds ${GLASSBOX_FUZZ_SECONDS} ${dict_args}
                   --findings ${CMAKE_CURRENT_BINARY_DIR}/fuzz_findings/${format}
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/inputs/${format})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 120
    ENVIRONMENT "ASAN_OPTIONS=handle_abort=1:detect_leaks=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1;OMP_NUM_THREADS=1")
endfunction()

foreach(format safetensors shard llmc toml model_config train_state tokenizer)
  fuzz_harness(${format})
endforeach()
