# Bad input to the glassbox CLI: one clear line on stderr and a non-zero exit for each case.
add_test(NAME cli_bad_inputs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_inputs.sh $<TARGET_FILE:glassbox>)
