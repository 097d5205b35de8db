# Generated sources are current: llm/backend/forwarding_backend.hpp forwards every op declared in
# llm/backend/backend.hpp (scripts/gen_forwarding_backend.py writes it; --check only compares).
add_test(NAME backend_forwarding_current
         COMMAND python3 ${PROJECT_SOURCE_DIR}/scripts/gen_forwarding_backend.py --check)
set_tests_properties(backend_forwarding_current PROPERTIES LABELS unit)
