# Every tracked C++ and CUDA file is formatted as .clang-format says (clang-format 14).
add_test(NAME format_check COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/format.sh --check)
set_tests_properties(format_check PROPERTIES LABELS format COST 40)
