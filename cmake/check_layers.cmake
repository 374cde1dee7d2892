# The layering check (ctest layers.*): every include in the library points down.
#
#   cmake -DSOURCE_ROOT=<src folder> -P cmake/check_layers.cmake
#
# Reads the layer table of cmake/VqvaeLayers.cmake and every .h/.cpp under SOURCE_ROOT/<layer>/,
# and fails (one line per violation, then a count) when
#   - a file includes <vqvae/<area>/...> of a layer its own layer may not use (a wrong-way or
#     sideways include: the build's per-layer include roots stop it from compiling too, this
#     names it without a compiler);
#   - a file includes a project header with quotes ("...") instead of <vqvae/...>;
#   - a file of a torch-free layer includes LibTorch (<ATen/...>, <c10/...>, <torch/...>);
#   - a file lies outside <layer>/vqvae/<area>/ and <layer>/vqvae/<area>/detail/ (an area's internal
#     headers, left out of the install; nothing deeper), or two layers hold the same area;
#   - a public header (one outside detail/) includes an internal one (<vqvae/<area>/detail/...>):
#     installed, it would name a header the install leaves out.
cmake_minimum_required(VERSION 3.18)
include(${CMAKE_CURRENT_LIST_DIR}/VqvaeLayers.cmake)
get_filename_component(SOURCE_ROOT "${SOURCE_ROOT}" ABSOLUTE)
if(NOT IS_DIRECTORY "${SOURCE_ROOT}")
  message(FATAL_ERROR "usage: cmake -DSOURCE_ROOT=<src folder> -P check_layers.cmake, got SOURCE_ROOT='${SOURCE_ROOT}'")
endif()

set(violations "")
macro(violation text)
  list(APPEND violations "${text}")
endmacro()

# area -> layer, from the folders src/<layer>/vqvae/<area>/
foreach(layer IN LISTS VQVAE_LAYERS)
  file(GLOB areas LIST_DIRECTORIES true RELATIVE "${SOURCE_ROOT}/${layer}/vqvae" "${SOURCE_ROOT}/${layer}/vqvae/*")
  foreach(area IN LISTS areas)
    if(NOT IS_DIRECTORY "${SOURCE_ROOT}/${layer}/vqvae/${area}")
      violation("${layer}/vqvae/${area}: a file directly under vqvae/ (expected <layer>/vqvae/<area>/<file>)")
    elseif(area STREQUAL "detail")
      violation("${layer}/vqvae/detail: 'detail' names an area's internal headers, not an area")
    elseif(DEFINED layer_of_${area})
      violation("area '${area}' is in two layers: ${layer_of_${area}} and ${layer}")
    else()
      set(layer_of_${area} ${layer})
    endif()
  endforeach()
endforeach()

# Files outside any layer folder.
string(REPLACE ";" ", " layers_shown "${VQVAE_LAYERS}")
file(GLOB_RECURSE all_files RELATIVE "${SOURCE_ROOT}" "${SOURCE_ROOT}/*.h" "${SOURCE_ROOT}/*.cpp")
foreach(file IN LISTS all_files)
  string(REGEX MATCH "^([^/]+)/vqvae/[^/]+/(detail/)?[^/]+$" in_layer "${file}")
  if(NOT in_layer OR NOT CMAKE_MATCH_1 IN_LIST VQVAE_LAYERS)
    violation("${file}: outside the layer folders (expected <layer>/vqvae/<area>/<file> or <layer>/vqvae/<area>/detail/<file>, layers: ${layers_shown})")
  endif()
endforeach()

set(files_checked 0)
set(includes_checked 0)
foreach(layer IN LISTS VQVAE_LAYERS)
  set(may_use ${layer} ${VQVAE_LAYER_USES_${layer}})
  file(GLOB_RECURSE sources "${SOURCE_ROOT}/${layer}/*.h" "${SOURCE_ROOT}/${layer}/*.cpp")
  foreach(source IN LISTS sources)
    math(EXPR files_checked "${files_checked} + 1")
    file(RELATIVE_PATH shown "${SOURCE_ROOT}" "${source}")
    file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      math(EXPR includes_checked "${includes_checked} + 1")
      if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
        violation("${shown}: includes \"${CMAKE_MATCH_1}\" with quotes (project headers are <vqvae/...>)")
      elseif(line MATCHES "#[ \t]*include[ \t]*<vqvae/([^/>]+)/([^>]+)>")
        set(area ${CMAKE_MATCH_1})
        set(header "vqvae/${CMAKE_MATCH_1}/${CMAKE_MATCH_2}")
        if(shown MATCHES "\\.h$" AND NOT shown MATCHES "/detail/[^/]+$" AND header MATCHES "^vqvae/[^/]+/detail/")
          violation("${shown}: a public header includes the internal <${header}> (detail/ headers are not installed)")
        endif()
        if(NOT DEFINED layer_of_${area})
          violation("${shown}: includes <${header}>, which no layer holds")
        elseif(NOT layer_of_${area} IN_LIST may_use)
          string(REPLACE ";" ", " allowed "${VQVAE_LAYER_USES_${layer}}")
          if(allowed STREQUAL "")
            set(allowed "nothing below it")
          endif()
          violation("${shown}: layer ${layer} includes <${header}> of layer ${layer_of_${area}} (${layer} may use ${allowed})")
        endif()
      elseif(layer IN_LIST VQVAE_TORCH_FREE_LAYERS AND line MATCHES "#[ \t]*include[ \t]*<((ATen|c10|torch)/[^>]+)>")
        violation("${shown}: layer ${layer} is torch-free, but includes <${CMAKE_MATCH_1}>")
      endif()
    endforeach()
  endforeach()
endforeach()

list(LENGTH violations count)
if(count GREATER 0)
  foreach(text IN LISTS violations)
    message("layering: ${text}")
  endforeach()
  message(FATAL_ERROR "layering: ${count} violation(s) in ${SOURCE_ROOT}")
endif()
if(files_checked EQUAL 0)
  message(FATAL_ERROR "layering: no source files found under ${SOURCE_ROOT}/<layer>/ (layers: ${VQVAE_LAYERS})")
endif()
message(STATUS "layering: ${files_checked} files, ${includes_checked} includes: every include points down")
