# GPT-2 tokenizer: equivalence with the npm gpt-3-encoder (ctest label "external": needs Node.js),
# and the throughput benchmark (a program, not a test: tests/tokenizer/bench.sh runs it).
# Data: data/cache/, where `data/fetch.sh gpt2` and `data/fetch.sh tinyshakespeare` put the files.
set(GLASSBOX_TOKENIZER_DATA "${PROJECT_SOURCE_DIR}/data/cache")

add_executable(compare_gpt2 ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/compare_gpt2.cpp)
target_link_libraries(compare_gpt2 PRIVATE llm)
add_test(NAME gpt2_tokenizer_vs_npm
         COMMAND compare_gpt2 ${GLASSBOX_TOKENIZER_DATA} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer)
set_tests_properties(gpt2_tokenizer_vs_npm PROPERTIES LABELS "external" TIMEOUT 600)

add_executable(bench_gpt2 ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/bench_gpt2.cpp)
target_link_libraries(bench_gpt2 PRIVATE llm)
target_compile_definitions(bench_gpt2 PRIVATE
  GLASSBOX_TOKENIZER_DATA="${GLASSBOX_TOKENIZER_DATA}")
