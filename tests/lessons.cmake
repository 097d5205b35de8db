# The course in lessons/ (label "lessons"). For each lessons/NN-topic/ with a test.cpp:
#   lesson_NN_test           exercise.cpp + test.cpp: what the student runs (scripts/lesson NN)
#   lesson_NN_solution_test  solution.cpp + test.cpp: the reference solution
#   lesson_NN_main[_solution] main.cpp + exercise.cpp (solution.cpp): the lesson's visible result
# and two ctest entries:
#   lesson_NN_solution    the tests pass on the reference solution
#   lesson_NN_stub_fails  EVERY test case fails on the untouched stubs (lessons/check_stub_fails.sh);
#                         a lesson test that passes on a stub is a broken lesson.
# Once you solve a lesson in your own checkout its stub_fails entry fails (your exercise is no
# longer a stub): configure with -DGLASSBOX_LESSON_STUB_CHECKS=OFF to leave those out.
# -DGLASSBOX_LESSONS=OFF leaves the whole course out of the build (36 small programs).
option(GLASSBOX_LESSONS "Build the lessons in lessons/ and their tests" ON)
option(GLASSBOX_LESSON_STUB_CHECKS "ctest checks that every lesson test fails on the untouched stubs" ON)
if(NOT GLASSBOX_LESSONS)
  return()
endif()

set(LESSONS_DIR ${PROJECT_SOURCE_DIR}/lessons)
set(LESSONS_BIN ${PROJECT_BINARY_DIR}/lessons)
file(GLOB LESSON_DIRS CONFIGURE_DEPENDS ${LESSONS_DIR}/[0-9][0-9]-*)
add_custom_target(lessons)

foreach(dir ${LESSON_DIRS})
  if(NOT EXISTS ${dir}/test.cpp)
    continue()
  endif()
  get_filename_component(dirname ${dir} NAME)
  string(SUBSTRING ${dirname} 0 2 nn)
  foreach(variant exercise solution)
    if(variant STREQUAL exercise)
      set(test_target lesson_${nn}_test)
      set(main_target lesson_${nn}_main)
    else()
      set(test_target lesson_${nn}_solution_test)
      set(main_target lesson_${nn}_main_solution)
    endif()
    add_executable(${test_target} ${dir}/${variant}.cpp ${dir}/test.cpp $<TARGET_OBJECTS:doctest_main>)
    set(targets ${test_target})
    if(EXISTS ${dir}/main.cpp)
      add_executable(${main_target} ${dir}/${variant}.cpp ${dir}/main.cpp)
      list(APPEND targets ${main_target})
    endif()
    foreach(target ${targets})
      target_link_libraries(${target} PRIVATE llm doctest::doctest)
      target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR} ${LESSONS_DIR} ${dir})
      target_compile_definitions(${target} PRIVATE GLASSBOX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
      # A fresh stub leaves parameters unused: not worth a warning in the student's face.
      target_compile_options(${target} PRIVATE -Wno-unused-parameter -Wno-unused-variable)
      set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LESSONS_BIN})
      add_dependencies(lessons ${target})
    endforeach()
  endforeach()

  # One thread: the shapes are tiny, and OpenMP threads spinning on 2 shared cores cost more than they bring.
  add_test(NAME lesson_${nn}_solution COMMAND lesson_${nn}_solution_test)
  set_tests_properties(lesson_${nn}_solution PROPERTIES LABELS lessons TIMEOUT 120
                       ENVIRONMENT "OMP_NUM_THREADS=1")
  if(GLASSBOX_LESSON_STUB_CHECKS)
    add_test(NAME lesson_${nn}_stub_fails
             COMMAND ${LESSONS_DIR}/check_stub_fails.sh $<TARGET_FILE:lesson_${nn}_test>)
    set_tests_properties(lesson_${nn}_stub_fails PROPERTIES LABELS lessons TIMEOUT 120
                         ENVIRONMENT "OMP_NUM_THREADS=1")
  endif()
endforeach()
