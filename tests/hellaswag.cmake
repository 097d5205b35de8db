# HellaSwag evaluation (llm/train/hellaswag.hpp). The hand-checked scores are test_hellaswag (a model
# with known outputs) and the interval eval in training test_train_hellaswag; here:
#   hellaswag_pytorch   a random GPT-2-shaped model, glassbox eval against the PyTorch reference
#                       (tests/reference/hellaswag_check.py; label "pytorch", Debian's torch)
#   hellaswag_mpi       eval under mpirun -np 2 and -np 4 equals one process bit for bit (label "mpi")
add_test(NAME hellaswag_pytorch
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/reference/hellaswag_check.py
                 --glassbox $<TARGET_FILE:glassbox> --data ${CMAKE_CURRENT_SOURCE_DIR}/hellaswag/tiny.jsonl
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/hellaswag_work)
set_tests_properties(hellaswag_pytorch PROPERTIES
  LABELS "pytorch" ENVIRONMENT "OMP_NUM_THREADS=2;OPENBLAS_NUM_THREADS=1" TIMEOUT 120)

if(GLASSBOX_MPI)
  add_test(NAME hellaswag_mpi
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/hellaswag/mpi.sh $<TARGET_FILE:glassbox>
                   ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe)
  set_tests_properties(hellaswag_mpi PROPERTIES
    LABELS "mpi"
    ENVIRONMENT "OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    TIMEOUT 120)
endif()
