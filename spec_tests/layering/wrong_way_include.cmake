# ctest layers.check_rejects_a_wrong_way_include: the layering check (cmake/check_layers.cmake)
# fails on a copy of src/ in which core includes a study header, and names the file and layers.
#   cmake -DSOURCE_ROOT=<src> -DCHECK=<check_layers.cmake> -DWORK=<scratch folder> -P wrong_way_include.cmake
cmake_minimum_required(VERSION 3.18)
file(REMOVE_RECURSE "${WORK}")
file(COPY "${SOURCE_ROOT}/" DESTINATION "${WORK}/src")
set(victim "${WORK}/src/core/vqvae/core/format.cpp")
if(NOT EXISTS "${victim}")
  message(FATAL_ERROR "${victim} is missing: the test needs a core source file to break")
endif()
# The copy passes before the change (so a failure below is the change's doing) ...
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_ROOT=${WORK}/src -P ${CHECK}
                RESULT_VARIABLE clean_status OUTPUT_VARIABLE clean_out ERROR_VARIABLE clean_out)
if(NOT clean_status EQUAL 0)
  message(FATAL_ERROR "the unchanged copy already fails the check:\n${clean_out}")
endif()
# ... and fails after it.
file(APPEND "${victim}" "#include <vqvae/study/run_config.h>  // wrong way: core -> study\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_ROOT=${WORK}/src -P ${CHECK}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(REMOVE_RECURSE "${WORK}")
message("${out}")
if(status EQUAL 0)
  message(FATAL_ERROR "the check passed a core file that includes <vqvae/study/run_config.h>")
endif()
if(NOT out MATCHES "core/vqvae/core/format.cpp: layer core includes <vqvae/study/run_config.h> of layer study")
  message(FATAL_ERROR "the check failed, but without naming the wrong-way include")
endif()
message(STATUS "OK: the check rejects core/vqvae/core/format.cpp including <vqvae/study/run_config.h>")
