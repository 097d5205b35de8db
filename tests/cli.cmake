# Bad input to the glassbox CLI: one clear line on stderr and a non-zero exit for each case.
add_test(NAME cli_bad_inputs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_inputs.sh $<TARGET_FILE:glassbox>)
# glassbox info: GPT-2 124M's parameter count, traffic and the 8xH100 estimate the docs quote.
add_test(NAME cli_info COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/info.sh $<TARGET_FILE:glassbox>)
# --resume: refused and accepted changes, --extend, --resume-override, train_state.json range checks,
# recovery of a save cut between its renames.
add_test(NAME cli_resume_safety COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/resume_safety.sh $<TARGET_FILE:glassbox>)
# SIGKILL (injected by strace) at each write and rename of a run and of a resume, then a resume:
# the history and the weights must come out as an uninterrupted run's (120 kills, ~45 s).
add_test(NAME cli_fault_injection COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/fault_injection.sh $<TARGET_FILE:glassbox>)
set_tests_properties(cli_bad_inputs cli_info cli_resume_safety cli_fault_injection PROPERTIES LABELS cli)
# COST (here and on the other long tests): `ctest -j` starts the costliest tests first, so that a
# fresh build's test run does not end with one long test running alone.
set_tests_properties(cli_fault_injection PROPERTIES COST 60)
# glassbox sweep: results, skipping finished points, resuming an interrupted one, malformed grids.
add_test(NAME cli_sweep COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/sweep.sh $<TARGET_FILE:glassbox>)
set_tests_properties(cli_sweep PROPERTIES LABELS cli TIMEOUT 120)
# Shards of another tokenizer kind (char shards for a GPT-2 model or run): refused, naming both.
add_test(NAME cli_tokenizer_mismatch COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/tokenizer_mismatch.sh $<TARGET_FILE:glassbox>)
set_tests_properties(cli_tokenizer_mismatch PROPERTIES LABELS cli TIMEOUT 120)
# scripts/gpu_check.sh without a GPU: one line per stage; the loss comparison of its stage 3.
add_test(NAME cli_gpu_check_offline COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/gpu_check_offline.sh ${GLASSBOX_PYTHON})
set_tests_properties(cli_gpu_check_offline PROPERTIES LABELS cli TIMEOUT 60)
