# ctest find_package.installed_headers_are_public: the installed include tree holds the public
# headers only, and they stand on their own there.
#   cmake -DINCLUDE_DIR=<install prefix>/include -DSOURCE_ROOT=<src folder> -P check_installed_headers.cmake
# Fails (one line per problem, then a count) when
#   - the install holds a detail/ folder, or any header of a source detail/ folder
#     (src/<layer>/vqvae/<area>/detail/<file>.h: an area's internal headers, which
#     src/CMakeLists.txt leaves out of the install);
#   - an installed header includes <vqvae/...> that the install does not hold: a public header
#     that includes an internal one (or a header not installed at all) would not compile against
#     the installed package.
cmake_minimum_required(VERSION 3.18)
foreach(variable INCLUDE_DIR SOURCE_ROOT)
  if(NOT IS_DIRECTORY "${${variable}}")
    message(FATAL_ERROR "usage: cmake -DINCLUDE_DIR=<install prefix>/include -DSOURCE_ROOT=<src folder> "
                        "-P check_installed_headers.cmake, got ${variable}='${${variable}}'")
  endif()
endforeach()

set(problems "")
file(GLOB_RECURSE installed LIST_DIRECTORIES true RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/vqvae/*")
set(headers 0)
foreach(path IN LISTS installed)
  if(path MATCHES "(^|/)detail(/|$)")
    list(APPEND problems "${path}: an internal detail/ path in the install")
  endif()
endforeach()

# The headers of the source detail/ folders, none of them installed.
file(GLOB internal RELATIVE "${SOURCE_ROOT}" "${SOURCE_ROOT}/*/vqvae/*/detail/*.h")
list(LENGTH internal internal_count)
if(internal_count EQUAL 0)
  list(APPEND problems "no header under ${SOURCE_ROOT}/<layer>/vqvae/<area>/detail/: nothing to check the install against")
endif()
foreach(source IN LISTS internal)
  string(REGEX MATCH "^[^/]+/(.*)$" ignored "${source}")  # <layer>/vqvae/... -> vqvae/...
  set(include_path "${CMAKE_MATCH_1}")
  if(EXISTS "${INCLUDE_DIR}/${include_path}")
    list(APPEND problems "${include_path}: installed, but internal (src/${source})")
  endif()
endforeach()

# Every <vqvae/...> an installed header includes is installed too.
foreach(path IN LISTS installed)
  if(IS_DIRECTORY "${INCLUDE_DIR}/${path}" OR NOT path MATCHES "\\.h$")
    continue()
  endif()
  math(EXPR headers "${headers} + 1")
  file(STRINGS "${INCLUDE_DIR}/${path}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*<vqvae/")
  foreach(line IN LISTS lines)
    # Two steps: ${CMAKE_MATCH_1} in the condition of the MATCHES itself would be the previous match.
    if(line MATCHES "<(vqvae/[^>]+)>")
      set(included "${CMAKE_MATCH_1}")
      if(NOT EXISTS "${INCLUDE_DIR}/${included}")
        list(APPEND problems "${path}: includes <${included}>, which the install does not hold")
      endif()
    endif()
  endforeach()
endforeach()
if(headers EQUAL 0)
  list(APPEND problems "no header installed under ${INCLUDE_DIR}/vqvae")
endif()

list(LENGTH problems count)
if(count GREATER 0)
  foreach(text IN LISTS problems)
    message("installed headers: ${text}")
  endforeach()
  message(FATAL_ERROR "installed headers: ${count} problem(s) in ${INCLUDE_DIR}")
endif()
message(STATUS "installed headers: ${headers} public headers, no detail/ folder, none of the ${internal_count} "
               "internal headers; every <vqvae/...> they include is installed")
