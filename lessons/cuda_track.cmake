# The CUDA track: lessons/NN-topic/ with an exercise.cu (lessons 11-13). Included by
# lessons/CMakeLists.txt, which builds the C++ lessons.
#
# The exercise is a CUDA file, and one file serves two machines:
#   - without a GPU (and in CI), the host compiler compiles it against the CPU emulation of CUDA
#     (kernels/emulation/: every CUDA thread a fiber of its own), under ThreadSanitizer, so a missing
#     __syncthreads() is a reported race. Same targets and ctest entries as the C++ lessons:
#       lesson_NN_test, lesson_NN_solution_test, lesson_NN_main, lesson_NN_main_solution,
#       ctest lesson_NN_solution, lesson_NN_stub_fails (label lessons);
#     plus, where the lesson has a mistakes.cu or mistakes_<name>.cu (classic bugs, planted),
#     lesson_NN_mistakes[_<name>]_test and ctest lesson_NN_catches_* entries that pass when the
#     tests print the expected diagnosis.
#   - with the CUDA backend on (GLASSBOX_CUDA: nvcc found), nvcc also compiles the exercise and the
#     solution into native programs, the same names with _gpu appended (lesson_NN_test_gpu, ...),
#     and every other .cu of the lesson into a GPU-only program lesson_NN_<name> (lesson 12's
#     tensor-core example). scripts/lesson runs them when nvidia-smi sees a GPU. They are not ctest
#     entries: CI has no GPU, so for CI they are compile-only.

# The emulation's runtime for the lessons: only the launch machinery and cudart, not the project's
# kernels (kernels/emulation/ builds those for the cuda_emulated tests).
add_library(lesson_cuda_emulation OBJECT
  ${PROJECT_SOURCE_DIR}/kernels/emulation/device_runtime.cpp
  ${LESSONS_DIR}/common/race_watch.cpp)
# The shims first, so <cuda_runtime.h> is the emulation's even where the CUDA toolkit is installed.
target_include_directories(lesson_cuda_emulation BEFORE PUBLIC ${PROJECT_SOURCE_DIR}/kernels/emulation/include)
target_include_directories(lesson_cuda_emulation PUBLIC ${PROJECT_SOURCE_DIR} ${LESSONS_DIR})
target_link_libraries(lesson_cuda_emulation PUBLIC llm)
# `#pragma unroll` is nvcc's; -g gives ThreadSanitizer's reports their file:line.
target_compile_options(lesson_cuda_emulation PUBLIC -Wno-unknown-pragmas -g)
# ThreadSanitizer cannot share a process with AddressSanitizer: a GLASSBOX_SANITIZE build (the
# whole tree under ASan) runs the lessons without race detection.
# Under ThreadSanitizer the scheduler is the uninstrumented one kernels/emulation/ builds.
if(GLASSBOX_SANITIZE)
  target_sources(lesson_cuda_emulation PRIVATE ${PROJECT_SOURCE_DIR}/kernels/emulation/grid_execution.cpp)
else()
  target_link_libraries(lesson_cuda_emulation PUBLIC grid_execution_tsan)
  target_compile_options(lesson_cuda_emulation PUBLIC -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(lesson_cuda_emulation PUBLIC -fsanitize=thread)
endif()

if(GLASSBOX_CUDA)
  find_package(CUDAToolkit REQUIRED)
endif()

# OMP_NUM_THREADS=1: the tests' CPU references use the library, whose OpenMP threads synchronize in
# ways ThreadSanitizer cannot see (it would report races that are not there). halt_on_error=0 (the
# default, stated): a race is counted and becomes a failed check with a message, not an abort.
set(CUDA_LESSON_ENV "OMP_NUM_THREADS=1;TSAN_OPTIONS=halt_on_error=0")

# One file of a lesson on the emulation, compiled once into an object library: a `variant`.cu
# (exercise, solution, mistakes) or a driver (test.cpp, main.cpp), linked into every program of the
# lesson that uses it.
function(add_emulated_lesson_objects target dir file)
  get_filename_component(dirname ${dir} NAME)
  get_filename_component(name ${file} NAME_WE)
  set(source ${dir}/${file})
  if(file MATCHES "\\.cu$")
    # The emulation compiles the .cu file as C++: through a one-line .cpp that includes it (a
    # source file has one language per directory, and nvcc compiles the same file as CUDA below).
    set(source ${LESSONS_BIN}/${dirname}/${name}_emulated.cpp)
    file(CONFIGURE OUTPUT ${source} CONTENT
         "// ${file}, compiled by the host compiler for the CPU emulation of CUDA.\n#include \"${dir}/${file}\"\n")
  endif()
  add_library(${target} OBJECT ${source})
  target_link_libraries(${target} PUBLIC lesson_cuda_emulation doctest::doctest)
  target_include_directories(${target} PRIVATE ${dir})
  target_compile_definitions(${target} PRIVATE GLASSBOX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_compile_options(${target} PRIVATE -Wno-unused-parameter -Wno-unused-variable)
endfunction()

# The same compiled by nvcc (.cu) or the host compiler (.cpp) for a GPU.
function(add_gpu_lesson_objects target dir file)
  add_library(${target} OBJECT ${dir}/${file})
  target_link_libraries(${target} PUBLIC llm doctest::doctest CUDA::cudart)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR} ${LESSONS_DIR} ${dir})
  target_compile_definitions(${target} PRIVATE GLASSBOX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wno-unused-parameter -Wno-unused-variable>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wno-unused-parameter,-Wno-unused-variable>
    $<$<COMPILE_LANGUAGE:CUDA>:-diag-suppress=177>)  # 177: a stub's unused __shared__ array
  # Ampere (A100) and Hopper (H100, H200); sm_80 is the least the tensor-core example needs.
  # GLASSBOX_CUDA_COMPILE_CHECK (CI): Hopper only.
  set(architectures "80;90")
  if(GLASSBOX_CUDA_COMPILE_CHECK)
    set(architectures 90)
  endif()
  set_target_properties(${target} PROPERTIES CUDA_ARCHITECTURES "${architectures}")
endfunction()

# A lesson program on the emulation: its object libraries (add_lesson_program in
# lessons/CMakeLists.txt) and the emulation's runtime, whose objects a program must link directly.
function(add_emulated_lesson_program target)
  add_lesson_program(${target} ${ARGN} lesson_cuda_emulation)
endfunction()

foreach(dir ${LESSON_DIRS})
  if(NOT EXISTS ${dir}/exercise.cu)
    continue()
  endif()
  get_filename_component(dirname ${dir} NAME)
  string(SUBSTRING ${dirname} 0 2 nn)

  # mistakes.cu, and mistakes_<name>.cu for mistakes that cannot share a file with those (a test
  # sees one version of each function): lesson_NN_mistakes_test, lesson_NN_mistakes_<name>_test.
  file(GLOB mistake_files ${dir}/mistakes*.cu)
  set(variants exercise solution)
  foreach(mistake_file ${mistake_files})
    get_filename_component(variant ${mistake_file} NAME_WE)
    list(APPEND variants ${variant})
  endforeach()
  set(prefix lesson_${nn}_emulated)
  foreach(variant ${variants})
    add_emulated_lesson_objects(${prefix}_${variant} ${dir} ${variant}.cu)
  endforeach()
  add_emulated_lesson_objects(${prefix}_test ${dir} test.cpp)
  add_emulated_lesson_program(lesson_${nn}_test ${prefix}_exercise ${prefix}_test doctest_main)
  add_emulated_lesson_program(lesson_${nn}_solution_test ${prefix}_solution ${prefix}_test doctest_main)
  foreach(variant ${variants})
    if(variant MATCHES "^mistakes")
      add_emulated_lesson_program(lesson_${nn}_${variant}_test ${prefix}_${variant} ${prefix}_test doctest_main)
    endif()
  endforeach()
  if(EXISTS ${dir}/main.cpp)
    add_emulated_lesson_objects(${prefix}_main ${dir} main.cpp)
    add_emulated_lesson_program(lesson_${nn}_main ${prefix}_exercise ${prefix}_main)
    add_emulated_lesson_program(lesson_${nn}_main_solution ${prefix}_solution ${prefix}_main)
  endif()

  add_test(NAME lesson_${nn}_solution COMMAND lesson_${nn}_solution_test)
  set_tests_properties(lesson_${nn}_solution PROPERTIES LABELS lessons TIMEOUT 120
                       ENVIRONMENT "${CUDA_LESSON_ENV}")
  if(GLASSBOX_LESSON_STUB_CHECKS)
    add_test(NAME lesson_${nn}_stub_fails
             COMMAND ${LESSONS_DIR}/check_stub_fails.sh $<TARGET_FILE:lesson_${nn}_test>)
    set_tests_properties(lesson_${nn}_stub_fails PROPERTIES LABELS lessons TIMEOUT 120
                         ENVIRONMENT "${CUDA_LESSON_ENV}")
  endif()

  if(GLASSBOX_CUDA)
    set(prefix lesson_${nn}_gpu)
    foreach(file exercise.cu solution.cu test.cpp)
      get_filename_component(name ${file} NAME_WE)
      add_gpu_lesson_objects(${prefix}_${name} ${dir} ${file})
    endforeach()
    add_gpu_lesson_objects(${prefix}_race_watch ${LESSONS_DIR}/common race_watch.cpp)
    set(test_parts ${prefix}_test ${prefix}_race_watch doctest_main)
    add_lesson_program(lesson_${nn}_test_gpu ${prefix}_exercise ${test_parts})
    add_lesson_program(lesson_${nn}_solution_test_gpu ${prefix}_solution ${test_parts})
    if(EXISTS ${dir}/main.cpp)
      add_gpu_lesson_objects(${prefix}_main ${dir} main.cpp)
      add_lesson_program(lesson_${nn}_main_gpu ${prefix}_exercise ${prefix}_main)
      add_lesson_program(lesson_${nn}_main_solution_gpu ${prefix}_solution ${prefix}_main)
    endif()
    file(GLOB gpu_only_programs ${dir}/*.cu)
    list(FILTER gpu_only_programs EXCLUDE REGEX "/(exercise|solution|mistakes[a-z_]*)\\.cu$")
    foreach(program ${gpu_only_programs})
      get_filename_component(name ${program} NAME_WE)
      add_gpu_lesson_objects(${prefix}_${name}_objects ${dir} ${name}.cu)
      add_lesson_program(lesson_${nn}_${name} ${prefix}_${name}_objects)
    endforeach()
  endif()
endforeach()

# The planted mistakes of lessons/NN-*/`variant`.cu (mistakes or mistakes_<name>) are caught: the
# named test cases, run on that file, print `message` (a regular expression).
function(lesson_catches nn variant mistake test_cases message)
  if(NOT TARGET lesson_${nn}_${variant}_test)
    return()
  endif()
  add_test(NAME lesson_${nn}_catches_${mistake}
           COMMAND lesson_${nn}_${variant}_test --no-colors=true -tc=${test_cases})
  set_tests_properties(lesson_${nn}_catches_${mistake} PROPERTIES LABELS lessons TIMEOUT 120
                       ENVIRONMENT "${CUDA_LESSON_ENV}" PASS_REGULAR_EXPRESSION "${message}")
endfunction()

lesson_catches(11 mistakes out_of_bounds "add*" "add, n = 1000: out: a thread wrote element 1000, past the last one")
if(NOT GLASSBOX_SANITIZE)  # races are found by ThreadSanitizer
  lesson_catches(11 mistakes missing_syncthreads "block_sums*" "block_sums, n = 1000: a data race")
endif()
lesson_catches(12 mistakes out_of_bounds_tile_loads "matmul_shared*"
               "matmul_shared .M = 70, N = 45, K = 33.: C: NaN at .0, 0.")
lesson_catches(12 mistakes wrong_index "matmul_naive*"
               "matmul_naive .M = 70, N = 45, K = 33.: every value of C is wrong, so an index is wrong")
if(NOT GLASSBOX_SANITIZE)
  lesson_catches(12 mistakes missing_syncthreads "matmul_registers*"
                 "matmul_registers .M = 70, N = 45, K = 33.: a data race")
endif()
if(NOT GLASSBOX_SANITIZE)
  lesson_catches(13 mistakes missing_syncthreads "flash*"
                 "flash_attention_forward .B = 2, NH = 2, T = 70, hs = 16.: a data race")
endif()
lesson_catches(13 mistakes missing_causal_mask "flash*" "out row 0 differs from v row 0")
lesson_catches(13 mistakes_rescale missing_rescale "flash*"
               "out is right for rows 0 .. 31 .one key tile. and wrong after: check the step between key tiles")
