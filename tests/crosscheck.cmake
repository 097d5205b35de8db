# The cross-check against an independent PyTorch GPT-2 (tests/reference/). Needs Debian's
# python3-torch, which only /usr/bin/python3 sees (see shared design notes: TOOLCHAIN.md).
#   crosscheck_driver          glassbox's side: writes checkpoint, logits, loss, grads, AdamW losses
#   reference_selftest         checks the PyTorch reference itself (ops, gradcheck, round trips)
#   pytorch_crosscheck         runs the driver in f32 and f64 and compares with PyTorch
#   pytorch_crosscheck_switches  the same for each architecture switch and for all of them
# Both tests carry the label "pytorch": `ctest -L pytorch` runs them, `ctest -LE pytorch` skips them.
add_executable(crosscheck_driver ${CMAKE_CURRENT_SOURCE_DIR}/crosscheck_driver.cpp)
target_link_libraries(crosscheck_driver PRIVATE llm)

add_test(NAME reference_selftest
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/selftest.py)
add_test(NAME pytorch_crosscheck
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/crosscheck.py
                 --driver $<TARGET_FILE:crosscheck_driver>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/crosscheck_work)
# The architecture switches (llm/model/config.hpp), each alone in f64 and all together ("llama")
# in f64 and f32: logits, loss, every gradient and 10 AdamW steps against the reference.
add_test(NAME pytorch_crosscheck_switches
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/crosscheck.py
                 --driver $<TARGET_FILE:crosscheck_driver>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/crosscheck_switches_work
                 --modes f64:rmsnorm,f64:rope,f64:swiglu,f64:relu2,f64:gqa,f64:untied,f64:nobias,f64:qknorm,f64:llama,f32:llama)
set_tests_properties(reference_selftest pytorch_crosscheck pytorch_crosscheck_switches PROPERTIES
  LABELS "pytorch"
  ENVIRONMENT "OMP_NUM_THREADS=2;OPENBLAS_NUM_THREADS=1"
  TIMEOUT 300)

# Muon (llm/train/muon.hpp) and its AdamW groups against a PyTorch Muon, a few steps in f64 and f32.
add_test(NAME pytorch_muon
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/muon_check.py
                 --driver $<TARGET_FILE:crosscheck_driver>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/muon_check_work)
set_tests_properties(pytorch_muon PROPERTIES
  LABELS "pytorch"
  ENVIRONMENT "OMP_NUM_THREADS=2;OPENBLAS_NUM_THREADS=1"
  TIMEOUT 120)
