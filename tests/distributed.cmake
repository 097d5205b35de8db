# Data-parallel training over MPI on CPU (label "mpi"; `ctest -L mpi`), about 20 s on 2 cores:
#   mpi_comm_collectives   test_comm's collectives under mpirun -np 2 and -np 3 (uneven shards);
#                          the plain `test_comm` entry covers SingleComm
#   dist_equivalence       2 ranks x grad_accum 1 == 1 process x grad_accum 2, ZeRO-1 off and on;
#                          3 ranks ZeRO-1 == 1 process x grad_accum 3
#   dist_resume            checkpoints move between 2 ranks (ZeRO-1) and 1 process, both ways
#   dist_muon              --optimizer muon: 2 ranks (ZeRO-1 and not) == 1 process x grad_accum 2,
#                          and a 2-rank ZeRO-1 checkpoint resumed on 1 process
#   dist_dead_rank         a stopped or killed rank ends the job within --comm-timeout
# tests/dist/distributed.sh states the tolerance (1e-5 relative on the losses) and why.
# The mpirun flags are Open MPI's: as root it needs --allow-run-as-root, and --oversubscribe runs
# 2 ranks on fewer cores.
if(NOT GLASSBOX_MPI)
  message(STATUS "glassbox: MPI tests off (GLASSBOX_MPI=OFF)")
  return()
endif()
set(GLASSBOX_MPIRUN ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe)

add_test(NAME mpi_comm_collectives COMMAND ${GLASSBOX_MPIRUN} -np 2 $<TARGET_FILE:test_comm>)
add_test(NAME mpi_comm_collectives_3 COMMAND ${GLASSBOX_MPIRUN} -np 3 $<TARGET_FILE:test_comm>)
foreach(mode equivalence resume muon dead_rank)
  add_test(NAME dist_${mode}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/dist/distributed.sh ${mode} $<TARGET_FILE:glassbox> ${GLASSBOX_MPIRUN})
endforeach()
set(MPI_TEST_ENV "OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
set_tests_properties(mpi_comm_collectives mpi_comm_collectives_3 dist_equivalence dist_resume dist_muon dist_dead_rank PROPERTIES
  LABELS "mpi"
  ENVIRONMENT "${MPI_TEST_ENV}"
  TIMEOUT 120)
# test_comm may run under AddressSanitizer (GLASSBOX_SANITIZE_UNIT_TESTS): Open MPI's plugins,
# unloaded before the exit, keep strings they allocated at start-up, which the leak check would
# report against no known module. Every other check stays on.
set_tests_properties(mpi_comm_collectives mpi_comm_collectives_3 PROPERTIES
  ENVIRONMENT "${MPI_TEST_ENV};ASAN_OPTIONS=detect_leaks=0")
