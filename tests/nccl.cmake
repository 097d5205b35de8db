# NcclComm, data parallel over NCCL on GPUs (label "cuda"; `ctest -L '^cuda$'`):
#   test_nccl_comm             every collective on one GPU (world 1, values checked) and the trainer
#                              with --comm nccl against SingleComm, bit for bit; without a GPU each
#                              case prints "SKIPPED (no GPU: ...)" and passes (built in every build)
#   nccl_comm_collectives_2    the same collectives under mpirun -np 2 (NCCL's id broadcast over
#                              MPI, uneven shards), one GPU per rank; skips with fewer than 2 GPUs
set_tests_properties(test_nccl_comm PROPERTIES LABELS "cuda")
if(GLASSBOX_CUDA AND GLASSBOX_MPI)
  add_test(NAME nccl_comm_collectives_2
           COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np 2 $<TARGET_FILE:test_nccl_comm>)
  set_tests_properties(nccl_comm_collectives_2 PROPERTIES
    LABELS "cuda"
    ENVIRONMENT "OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    TIMEOUT 180)
endif()
