# Hugging Face GPT-2 import and llm.c conversion, checked against the PyTorch reference
# (tests/reference/hf_import_check.py): PyTorch writes a random GPT-2 as the official gpt2 repository
# does (no "transformer." prefix, attn.bias buffers, vocab.json + merges.txt), glassbox loads it and
# writes logits; then `glassbox convert` HF dir -> llm.c .bin -> glassbox dir must give the same logits.
# Needs /usr/bin/python3 with python3-torch and data/cache/gpt2 (data/fetch.sh gpt2). Label "pytorch".
add_executable(hf_import_driver ${CMAKE_CURRENT_SOURCE_DIR}/hf_import_driver.cpp)
target_link_libraries(hf_import_driver PRIVATE llm)
add_test(NAME pytorch_hf_import
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/hf_import_check.py
                 --driver $<TARGET_FILE:hf_import_driver>
                 --glassbox $<TARGET_FILE:glassbox>
                 --gpt2-dir ${PROJECT_SOURCE_DIR}/data/cache/gpt2
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/hf_import_work)
set_tests_properties(pytorch_hf_import PROPERTIES
  LABELS "pytorch"
  ENVIRONMENT "OMP_NUM_THREADS=2;OPENBLAS_NUM_THREADS=1"
  TIMEOUT 300)
