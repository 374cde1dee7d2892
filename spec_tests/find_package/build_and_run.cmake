# ctest find_package.consumer_builds_and_runs: configures and builds this folder's consumer
# project against the installed package, then runs it.
#   cmake -DSOURCE=<this folder> -DBUILD=<build folder> -DGENERATOR=<generator> -DPREFIX=<install prefix> -P build_and_run.cmake
cmake_minimum_required(VERSION 3.18)
# Every step must exit 0, and the consumer must print Shannon's D(R) of N(0, I_4) at R = 2 bits:
# half a bit per dimension, so D = 4 · 2^(−2·0.5) = 2 (closed form). The script checks both
# itself: a ctest PASS_REGULAR_EXPRESSION would ignore the exit status.
foreach(step
    "${CMAKE_COMMAND};--fresh;-S;${SOURCE};-B;${BUILD};-G;${GENERATOR};-DCMAKE_PREFIX_PATH=${PREFIX};-DCMAKE_BUILD_TYPE=Release"
    "${CMAKE_COMMAND};--build;${BUILD}"
    "${BUILD}/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message("${output}")
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " shown "${step}")
    message(FATAL_ERROR "failed (${status}): ${shown}")
  endif()
endforeach()
if(NOT output MATCHES "D\\(2 bits\\) of N\\(0, I_4\\) = 2\\.000000")
  message(FATAL_ERROR "the consumer did not print D(2 bits) of N(0, I_4) = 2.000000")
endif()
