# ctest layers.build_*: compiles a file holding one include with the include directories a
# layer's target compiles with, and checks the outcome.
#   cmake -DCXX=<compiler> -DINCLUDE_DIRS=<dirs> -DHEADER=vqvae/<area>/<file>.h
#         -DEXPECT=found|not_found -DWORK=<scratch folder> -P try_include.cmake
# not_found: the compiler must stop at that include ("No such file"): the layer cannot see a
# higher layer's headers, so a wrong-way include does not build. found: it compiles (the same
# header is visible where the layering allows it, so the failure is the layering's doing).
cmake_minimum_required(VERSION 3.18)
file(MAKE_DIRECTORY "${WORK}")
set(source "${WORK}/include_probe.cpp")
file(WRITE "${source}" "#include <${HEADER}>\n")
set(flags -std=c++17 -fsyntax-only)
string(REPLACE "|" ";" INCLUDE_DIRS "${INCLUDE_DIRS}")  # passed joined with | (a ; would split the test command)
foreach(dir IN LISTS INCLUDE_DIRS)
  list(APPEND flags "-I${dir}")
endforeach()
execute_process(COMMAND ${CXX} ${flags} ${source} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(EXPECT STREQUAL "not_found")
  if(status EQUAL 0)
    message(FATAL_ERROR "<${HEADER}> compiled with include directories ${INCLUDE_DIRS}: the layering is not enforced")
  endif()
  if(NOT out MATCHES "${HEADER}: No such file or directory")
    message(FATAL_ERROR "the compile failed, but not because <${HEADER}> was not found")
  endif()
  message(STATUS "OK: <${HEADER}> is not visible with these include directories")
elseif(EXPECT STREQUAL "found")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "<${HEADER}> did not compile with include directories ${INCLUDE_DIRS}")
  endif()
  message(STATUS "OK: <${HEADER}> compiles with these include directories")
else()
  message(FATAL_ERROR "EXPECT must be found or not_found, got '${EXPECT}'")
endif()
