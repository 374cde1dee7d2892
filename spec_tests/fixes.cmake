# Spec tests of the five documented fixes (issue 3): one file per fix, each also run against a
# faithful reproduction of the seed's buggy code (mutants/, test tree only), plus the compile-time
# half of fix #3's deprecation. Included from spec_tests/CMakeLists.txt.

add_vqvae_test(fix_tests spec FILES
  fix1_codebook_gradient_test.cpp
  fix2_consistent_ste_test.cpp
  fix3_legacy_naming_test.cpp
  fix4_pca_orientation_test.cpp
  fix5_rotation_z_q_hard_test.cpp
  mutants/fix1_buggy_loss.h
  mutants/fix2_conditional_ste.h
  mutants/fix3_swapped_legacy.h
  mutants/fix4_double_transpose_encoder.h
  mutants/fix5_rotation_without_z_q_hard.h
)

# ---- fix #3: LinearGaussianVQVAE is [[deprecated]] for real.
# Each test configures the tiny project deprecation_check/ in a fresh folder; its try_compile
# compiles one use of the library with -Werror=deprecated-declarations (no link, no PCH: ~20 s).
# legacy: a use of vqvae::LinearGaussianVQVAE must fail, with the deprecation diagnostic;
# vqvae:  the equivalent use of vqvae::VQVAE must compile with the same flags, which shows the
#         failure above comes from the deprecation and not from a broken set-up.
set(_deprecation_bin ${CMAKE_CURRENT_BINARY_DIR}/deprecation_check)
set(_deprecation_include_dirs ${PROJECT_SOURCE_DIR}/src ${TORCH_INCLUDE_DIRS})
file(CONFIGURE OUTPUT ${_deprecation_bin}/settings.cmake CONTENT [[
set(CHECK_INCLUDE_DIRS "@_deprecation_include_dirs@")
set(CHECK_CXX_FLAGS "@TORCH_CXX_FLAGS@")
]] @ONLY)
foreach(_case legacy vqvae)
  if(_case STREQUAL "legacy")
    set(_name deprecation.legacy_use_fails_with_Werror_deprecated_declarations)
  else()
    set(_name deprecation.vqvae_use_compiles_with_the_same_flags)
  endif()
  add_test(NAME ${_name} COMMAND sh -c
    "rm -rf '${_deprecation_bin}/${_case}' && '${CMAKE_COMMAND}' -S '${CMAKE_CURRENT_SOURCE_DIR}/deprecation_check' -B '${_deprecation_bin}/${_case}' -G '${CMAKE_GENERATOR}' -DCMAKE_CXX_COMPILER='${CMAKE_CXX_COMPILER}' -DSETTINGS_FILE='${_deprecation_bin}/settings.cmake' -DCASE=${_case}")
  # COST: start these two slow tests first when ctest runs in parallel.
  set_tests_properties(${_name} PROPERTIES LABELS "spec;deprecation" TIMEOUT 300 COST 1000)
endforeach()
