# ctest layers.torch_free_targets_link_no_libtorch: the layers that promise to be free of LibTorch
# (VQVAE_TORCH_FREE_LAYERS: core, math) are built so by their targets, not only by a scan of their
# includes: each target's link libraries name nothing but other torch-free layers (no torch, no
# c10, nothing that could bring them), and its include directories hold none of LibTorch's.
#   cmake "-DLINKS=<layer>=<libs joined by |>,..." "-DINCLUDES=<layer>=<dirs joined by |>,..."
#         -P torch_free_links.cmake
# LINKS and INCLUDES are given per layer as the build evaluates them ($<TARGET_PROPERTY:...>).
cmake_minimum_required(VERSION 3.18)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/VqvaeLayers.cmake)
set(problems "")
foreach(kind LINKS INCLUDES)
  string(REPLACE "," ";" entries "${${kind}}")
  foreach(entry IN LISTS entries)
    string(REGEX MATCH "^([a-z]+)=(.*)$" matched "${entry}")
    if(NOT matched)
      message(FATAL_ERROR "usage: ${kind} entries are <layer>=<items joined by |>, got '${entry}'")
    endif()
    set(layer ${CMAKE_MATCH_1})
    string(REPLACE "|" ";" items "${CMAKE_MATCH_2}")
    foreach(item IN LISTS items)
      if(kind STREQUAL "LINKS")
        string(REGEX MATCH "^vqvae_([a-z]+)$" own "${item}")
        if(NOT own OR NOT CMAKE_MATCH_1 IN_LIST VQVAE_TORCH_FREE_LAYERS)
          list(APPEND problems "vqvae_${layer} links '${item}' (a torch-free layer may link only ${VQVAE_TORCH_FREE_LAYERS})")
        endif()
      elseif(item MATCHES "torch|ATen|c10")
        list(APPEND problems "vqvae_${layer} compiles with LibTorch's include directory '${item}'")
      endif()
    endforeach()
  endforeach()
endforeach()
list(LENGTH problems count)
if(count GREATER 0)
  string(REPLACE ";" "\n" shown "${problems}")
  message(FATAL_ERROR "${shown}\n${count} LibTorch dependencies in torch-free layers")
endif()
message(STATUS "OK: ${VQVAE_TORCH_FREE_LAYERS}: no LibTorch in their targets' links or include directories")
