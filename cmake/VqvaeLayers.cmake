# The library's layers, lowest first: the one table the build (src/CMakeLists.txt) and the
# layering check (cmake/check_layers.cmake, ctest layers.*) both read.
#
# Each layer is a folder src/<layer>/ whose public headers sit under src/<layer>/vqvae/<area>/
# and are included as <vqvae/<area>/<file>.h>. A layer may include headers of the layers listed
# after its name (everything below it that it uses), and nothing else: the build gives each layer
# only those include roots, and the check scans every include.
#
#   core      one-line errors, choice tables, number formatting, signals (no LibTorch)
#   math      numerics without LibTorch: nearest-codeword search kernel, Gaussian rate-distortion,
#             the fused training step's arithmetic kernels
#   tensor    LibTorch's runtime as the library uses it: tensor argument checks, threads,
#             devices, generators (the precompiled <torch/torch.h> the layers above reuse)
#   modules   the Python baseline's building blocks: data, encoders, decoders, quantizers,
#             initialization, evaluation metrics
#   training  models (VQVAE, legacy) and training (loss, trainer, fused step, optimizer update,
#             the training loop of a run)
#   io        HDF5 reader and writer, the atomic file, provenance (serves study and harness only)
#   study     typed run configuration and one run (study/), experiments and rate sweeps
#             (experiment/), the pre-flight memory estimate (preflight/), measurements (bench/)
#   harness   conform, golden fixtures, pre-experiment validation (checks the configuration the
#             study would run, so it sits above study)
include_guard(GLOBAL)

set(VQVAE_LAYERS core math tensor modules training io study harness)
set(VQVAE_LAYER_USES_core "")
set(VQVAE_LAYER_USES_math core)
set(VQVAE_LAYER_USES_tensor core)
set(VQVAE_LAYER_USES_modules core math tensor)
set(VQVAE_LAYER_USES_training core math tensor modules)
set(VQVAE_LAYER_USES_io core tensor)
set(VQVAE_LAYER_USES_study core math tensor modules training io)
set(VQVAE_LAYER_USES_harness core math tensor modules training io study)
# Layers whose sources must not include LibTorch (<ATen/...>, <c10/...>, <torch/...>): their
# targets link no LibTorch and see none of its headers (the build holds it, ctest -L layers
# checks it), and they build without the precompiled header.
set(VQVAE_TORCH_FREE_LAYERS core math)
