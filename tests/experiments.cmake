# The experiment cards' smoke runs: each card's config, scaled down to seconds on the CPU.
#   gpt2_124m_smoke   experiments/gpt2_124m/config.toml on tinyshakespeare in GPT-2 tokens, with
#                     HellaSwag on tests/hellaswag/tiny.jsonl (needs data/cache/tinyshakespeare and
#                     data/cache/gpt2: scripts/test.sh fetches them)
add_test(NAME gpt2_124m_smoke
         COMMAND ${PROJECT_SOURCE_DIR}/experiments/gpt2_124m/smoke.sh $<TARGET_FILE:glassbox>
                 ${CMAKE_CURRENT_BINARY_DIR}/gpt2_124m_smoke)
set_tests_properties(gpt2_124m_smoke PROPERTIES LABELS experiments ENVIRONMENT "OMP_NUM_THREADS=2" TIMEOUT 300)

# scaling_fit: experiments/scaling/fit.py on synthetic results made from a known power law; it must
# recover the exponent and each budget's optimum, and report an unbracketed optimum as such. Needs
# numpy in Debian's /usr/bin/python3 (not matplotlib: the test draws no figure).
add_test(NAME scaling_fit COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/experiments/scaling/test_fit.py)
set_tests_properties(scaling_fit PROPERTIES LABELS experiments TIMEOUT 60)
