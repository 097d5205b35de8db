# The experiment cards' smoke runs: each card's config, scaled down to seconds on the CPU.
#   gpt2_124m_smoke   experiments/gpt2_124m/config.toml on tinyshakespeare in GPT-2 tokens, with
#                     HellaSwag on tests/hellaswag/tiny.jsonl (needs data/cache/tinyshakespeare and
#                     data/cache/gpt2: scripts/test.sh fetches them)
add_test(NAME gpt2_124m_smoke
         COMMAND ${PROJECT_SOURCE_DIR}/experiments/gpt2_124m/smoke.sh $<TARGET_FILE:glassbox>
                 ${CMAKE_CURRENT_BINARY_DIR}/gpt2_124m_smoke)
set_tests_properties(gpt2_124m_smoke PROPERTIES LABELS experiments ENVIRONMENT "OMP_NUM_THREADS=2" TIMEOUT 300)
