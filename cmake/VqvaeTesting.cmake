# Test registration helpers.
#
# Every test process pays LibTorch's start-up, far longer than a whole test file's run (docs/tests.md);
# one ctest entry per GoogleTest *test* (gtest_discover_tests) made the suite spend most of its
# time starting processes. So each test *file* is one ctest entry: <exe>.<file stem>, running the
# suites that file defines (--gtest_filter built from its TEST / TEST_F / TEST_P /
# RC_GTEST_PROP lines), and a failure still prints GoogleTest's per-test report.
include_guard(GLOBAL)


# add_vqvae_test(<executable> <labels> [SEPARATE_FILES] FILES <sources...> [LIBRARIES <libs...>])
# The files are compiled in unity batches (VQVAE_UNITY_BUILD) unless SEPARATE_FILES: for test
# files meant to read alone, each with its own helpers of the same names (the five fix files).
function(add_vqvae_test name labels)
  cmake_parse_arguments(ARG "SEPARATE_FILES" "" "FILES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_FILES})
  target_link_libraries(${name} PRIVATE vqvae_test_support ${ARG_LIBRARIES} GTest::gtest_main)
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_precompile_headers(${name} REUSE_FROM vqvae_tensor)
  if(NOT ARG_SEPARATE_FILES)
    set_target_properties(${name} PROPERTIES UNITY_BUILD ${VQVAE_UNITY_BUILD} UNITY_BUILD_BATCH_SIZE ${VQVAE_UNITY_BATCH_SIZE})
  endif()
  foreach(file IN LISTS ARG_FILES)
    # The suites are read here, at configure time: re-configure when the file changes, or a new
    # suite in an existing file would compile and silently never run.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${file})
    file(READ ${CMAKE_CURRENT_SOURCE_DIR}/${file} text)
    string(REGEX MATCHALL "(TEST|TEST_F|TEST_P|RC_GTEST_PROP|RC_GTEST_FIXTURE_PROP)\\([ \t\n]*[A-Za-z0-9_]+" found "${text}")
    set(suites "")
    foreach(match IN LISTS found)
      string(REGEX REPLACE ".*\\([ \t\n]*" "" suite "${match}")
      list(APPEND suites ${suite})
    endforeach()
    if(NOT suites)
      continue()  # support files
    endif()
    list(REMOVE_DUPLICATES suites)
    set(filter "")
    foreach(suite IN LISTS suites)
      string(APPEND filter "${suite}.*:*/${suite}.*:")
    endforeach()
    get_filename_component(stem ${file} NAME_WE)
    add_test(NAME ${name}.${stem} COMMAND ${name} --gtest_filter=${filter} --gtest_brief=1)
    set_tests_properties(${name}.${stem} PROPERTIES LABELS "${labels}")
  endforeach()
endfunction()
