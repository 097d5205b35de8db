# Hugging Face Llama directories (LlamaForCausalLM), checked against an independent PyTorch forward
# (tests/reference/hf_llama_check.py, llama_reference.py): PyTorch writes small random Llama models
# (grouped-query and multi-query attention, tied and untied head, rope_scaling llama3) with HF's
# config.json, names and a byte-level BPE tokenizer.json; `glassbox eval` must give the reference's
# loss, `glassbox sample` its greedy tokens, `glassbox convert` the same directory back bit for bit,
# and every unsupported config field a one-line error naming it; the same for a directory laid out
# as Llama 3 ships it (weights in shards, its tokenizer.json with special tokens and a BOS). Needs /usr/bin/python3 with
# python3-torch. Label "pytorch".
add_test(NAME pytorch_hf_llama
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/hf_llama_check.py
                 --glassbox $<TARGET_FILE:glassbox>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/hf_llama_work)
set_tests_properties(pytorch_hf_llama PROPERTIES
  LABELS "pytorch"
  ENVIRONMENT "OMP_NUM_THREADS=2;OPENBLAS_NUM_THREADS=1"
  TIMEOUT 120)

# transformers itself loading what glassbox writes (tests/reference/transformers_check.py: GPT-2 and
# two Llama-style models, every weight loaded, the same loss in float64). Debian 12 has no
# transformers, so the test is registered only where GLASSBOX_PYTHON imports it (label
# "transformers"); scripts/gpu_check.sh stage 3 runs the script on the GPU machine.
execute_process(COMMAND ${GLASSBOX_PYTHON} -c "import transformers"
                RESULT_VARIABLE transformers_missing OUTPUT_QUIET ERROR_QUIET)
if(transformers_missing EQUAL 0)
  add_test(NAME transformers_loads_checkpoints
           COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/transformers_check.py
                   --glassbox $<TARGET_FILE:glassbox>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/transformers_work)
  set_tests_properties(transformers_loads_checkpoints PROPERTIES LABELS "transformers" TIMEOUT 120)
endif()
