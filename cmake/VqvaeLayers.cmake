# The library's layers, lowest first: the one table the build (src/CMakeLists.txt) and the
# layering check (cmake/check_layers.cmake, ctest layers.*) both read.
#
# Each layer is a folder src/<layer>/ whose public headers sit under src/<layer>/vqvae/<area>/
# and are included as <vqvae/<area>/<file>.h>. A layer may include headers of the layers listed
# after its name (everything below it that it uses), and nothing else: the build gives each layer
# only those include roots, and the check scans every include.
#
#   core      argument checks, one-line errors, choice tables, number formatting, threads/devices
#   math      torch-free numerics: nearest-codeword search kernel, Gaussian rate-distortion,
#             the fused training step's arithmetic kernels
#   modules   the Python baseline's building blocks: data, encoders, decoders, quantizers,
#             initialization, evaluation metrics
#   training  models (VQVAE, legacy) and training (loss, trainer, fused step, optimizer update)
#   io        HDF5 reader and writer, the atomic file, provenance (serves study and harness only)
#   study     typed run configuration, model factory, training runs, experiments
#   harness   pre-experiment validation and golden fixtures (checks the configuration the study
#             would run, so it sits above study)
include_guard(GLOBAL)

set(VQVAE_LAYERS core math modules training io study harness)
set(VQVAE_LAYER_USES_core "")
set(VQVAE_LAYER_USES_math core)
set(VQVAE_LAYER_USES_modules core math)
set(VQVAE_LAYER_USES_training core math modules)
set(VQVAE_LAYER_USES_io core)
set(VQVAE_LAYER_USES_study core math modules training io)
set(VQVAE_LAYER_USES_harness core math modules training io study)
# Layers whose sources must not include LibTorch (<ATen/...>, <c10/...>, <torch/...>): they build
# without the precompiled header in about a second per file.
set(VQVAE_TORCH_FREE_LAYERS math)
