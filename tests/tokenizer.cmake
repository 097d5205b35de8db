# GPT-2 tokenizer: equivalence with the npm gpt-3-encoder (ctest label "external": needs Node.js),
# and the throughput benchmark (a program, not a test: tests/tokenizer/bench.sh runs it).
# Data: ${PROJECT_SOURCE_DIR}/../shared/data unless GLASSBOX_DATA_MIRROR is set (at configure time
# here, or at run time, where compare_gpt2 and bench_gpt2 read it too).
if(DEFINED ENV{GLASSBOX_DATA_MIRROR})
  set(GLASSBOX_TOKENIZER_DATA "$ENV{GLASSBOX_DATA_MIRROR}")
else()
  set(GLASSBOX_TOKENIZER_DATA "${PROJECT_SOURCE_DIR}/../shared/data")
endif()

add_executable(compare_gpt2 ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/compare_gpt2.cpp)
target_link_libraries(compare_gpt2 PRIVATE llm)
add_test(NAME gpt2_tokenizer_vs_npm
         COMMAND compare_gpt2 ${GLASSBOX_TOKENIZER_DATA} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer)
set_tests_properties(gpt2_tokenizer_vs_npm PROPERTIES LABELS "external" TIMEOUT 600)

add_executable(bench_gpt2 ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/bench_gpt2.cpp)
target_link_libraries(bench_gpt2 PRIVATE llm)
target_compile_definitions(bench_gpt2 PRIVATE
  GLASSBOX_TOKENIZER_DATA="${GLASSBOX_TOKENIZER_DATA}")
