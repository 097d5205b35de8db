# Fuzzing in CI (label fuzz): each harness in tests/fuzz/ runs every input of its directory in
# tests/fuzz/inputs/ (the seeds and every input that ever crashed it), then mutated inputs for
# GLASSBOX_FUZZ_SECONDS seconds, under AddressSanitizer and UBSan. The harness and the reader it
# tests are compiled with the sanitizers; the rest of the library is linked as it is. Built with the
# host compiler (tests/fuzz/mutation_driver.cpp is main()): no clang or libFuzzer needed.
# Longer runs: tests/fuzz/run.sh SECONDS [FORMAT].
set(GLASSBOX_FUZZ_SECONDS 15 CACHE STRING "Seconds of mutated inputs per fuzz harness in ctest (label fuzz)")

set(FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
add_library(fuzz_driver OBJECT fuzz/mutation_driver.cpp)
target_compile_options(fuzz_driver PRIVATE ${FUZZ_SANITIZERS} -fno-omit-frame-pointer)

# fuzz_harness(FORMAT READER_SOURCES...): tests/fuzz/fuzz_FORMAT.cpp against the readers named
# (paths relative to llm/), and its ctest entry fuzz_FORMAT.
function(fuzz_harness format)
  set(readers)
  foreach(source ${ARGN})
    list(APPEND readers ${PROJECT_SOURCE_DIR}/llm/${source})
  endforeach()
  set(name fuzz_${format})
  add_executable(${name} fuzz/${name}.cpp ${readers} $<TARGET_OBJECTS:fuzz_driver>)
  target_compile_options(${name} PRIVATE ${FUZZ_SANITIZERS} -fno-omit-frame-pointer -O1 -g)
  target_link_options(${name} PRIVATE ${FUZZ_SANITIZERS})
  target_link_libraries(${name} PRIVATE llm)
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

fuzz_harness(safetensors io/safetensors.cpp io/stored_tensor.cpp)
fuzz_harness(shard data/shard.cpp)
fuzz_harness(llmc io/llmc_checkpoint.cpp io/stored_tensor.cpp)
fuzz_harness(toml io/toml_file.cpp)
fuzz_harness(model_config io/checkpoint.cpp)
fuzz_harness(train_state train/train_checkpoint.cpp)
fuzz_harness(tokenizer tokenizer/gpt2_tokenizer.cpp tokenizer/char_tokenizer.cpp tokenizer/load_tokenizer.cpp
             tokenizer/hf_tokenizer_json.cpp tokenizer/regex_split.cpp)
