# ctest find_package.consumer_builds_and_runs: configures and builds this folder's consumer
# project against the installed package, then runs it.
#   cmake -DSOURCE=<this folder> -DBUILD=<build folder> -DGENERATOR=<generator> -DPREFIX=<install prefix> -P build_and_run.cmake
cmake_minimum_required(VERSION 3.18)
foreach(step
    "${CMAKE_COMMAND};--fresh;-S;${SOURCE};-B;${BUILD};-G;${GENERATOR};-DCMAKE_PREFIX_PATH=${PREFIX};-DCMAKE_BUILD_TYPE=Release"
    "${CMAKE_COMMAND};--build;${BUILD}"
    "${BUILD}/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " shown "${step}")
    message(FATAL_ERROR "failed (${status}): ${shown}")
  endif()
endforeach()
