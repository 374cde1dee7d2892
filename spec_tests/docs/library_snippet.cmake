# ctest docs.library_snippet_builds: docs/library.md's CMakeLists.txt and main.cpp blocks, copied
# as written into a project, built against the installed library and run
# (find_package/build_and_run.cmake).
#   cmake -DDOC=<docs/library.md> -DBUILD=<folder> -DGENERATOR=<generator> -DPREFIX=<install prefix>
#         -DBUILD_AND_RUN=<spec_tests/find_package/build_and_run.cmake> -P library_snippet.cmake
cmake_minimum_required(VERSION 3.18)
file(READ "${DOC}" text)
# The first ```cmake block and the first ```cpp block (neither holds a backtick).
string(REGEX MATCH "```cmake\n([^`]*)```" found_cmake "${text}")
set(cmake_block "${CMAKE_MATCH_1}")
string(REGEX MATCH "```cpp\n([^`]*)```" found_cpp "${text}")
set(cpp_block "${CMAKE_MATCH_1}")
if(NOT found_cmake OR NOT found_cpp)
  message(FATAL_ERROR "${DOC} has no ```cmake or no ```cpp block")
endif()
file(REMOVE_RECURSE "${BUILD}")
file(WRITE "${BUILD}/app/CMakeLists.txt" "${cmake_block}")
file(WRITE "${BUILD}/app/main.cpp" "${cpp_block}")
# One step of the default model from its rd_gaussian codebook: a finite, positive loss.
set(SOURCE "${BUILD}/app")
set(BUILD "${BUILD}/app/build")
set(PROGRAM app)
set(EXPECT "loss after one step: [0-9]+\\.[0-9]+")
include("${BUILD_AND_RUN}")
