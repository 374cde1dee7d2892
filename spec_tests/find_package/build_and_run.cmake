# ctest find_package.consumer_builds_and_runs (and docs.library_snippet_builds, through
# docs/library_snippet.cmake): configures and builds a consumer project against the installed
# package, then runs its program and checks what it printed.
#   cmake -DSOURCE=<project folder> -DBUILD=<build folder> -DGENERATOR=<generator> -DPREFIX=<install prefix>
#         [-DPROGRAM=<executable name, default consumer>] [-DEXPECT=<regex>] -P build_and_run.cmake
cmake_minimum_required(VERSION 3.18)
# This folder's consumer must print Shannon's D(R) of N(0, I_4) at R = 2 bits: half a bit per
# dimension, so D = 4 · 2^(−2·0.5) = 2 (closed form). Every step must exit 0 as well: a ctest
# PASS_REGULAR_EXPRESSION would ignore the exit status.
if(NOT DEFINED PROGRAM)
  set(PROGRAM consumer)
endif()
if(NOT DEFINED EXPECT)
  set(EXPECT "D\\(2 bits\\) of N\\(0, I_4\\) = 2\\.000000")
endif()
foreach(step
    "${CMAKE_COMMAND};--fresh;-S;${SOURCE};-B;${BUILD};-G;${GENERATOR};-DCMAKE_PREFIX_PATH=${PREFIX};-DCMAKE_BUILD_TYPE=Release"
    "${CMAKE_COMMAND};--build;${BUILD}"
    "${BUILD}/${PROGRAM}")
  execute_process(COMMAND ${step} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message("${output}")
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " shown "${step}")
    message(FATAL_ERROR "failed (${status}): ${shown}")
  endif()
endforeach()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "${PROGRAM} did not print what it must (${EXPECT})")
endif()
