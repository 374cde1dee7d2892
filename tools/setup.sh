#!/usr/bin/env bash
# One-command set-up for a fresh Debian 12 machine (as root), idempotent and quick when
# everything is already there:
#   bash tools/setup.sh main   install what the program needs, configure, build the vqvae program,
#                              run `vqvae validate`
#   bash tools/setup.sh test   install everything (test libraries, the Python driver's packages,
#                              SLURM, FAISS, gnuplot), build everything, run the test suite (ctest)
#   bash tools/setup.sh build  test's set-up and build, without running the tests
#   bash tools/setup.sh sanitize   the set-up, then a build with ASan + UBSan (-DVQVAE_SANITIZE=ON)
#                                  in build-asan/ and its spec and property tests (ctest)
#   bash tools/setup.sh fuzz       also installs clang-14, builds the libFuzzer targets of
#                                  tools/fuzz/ in build-fuzz/ and runs each for
#                                  VQVAE_FUZZ_SECONDS (default 60) on its corpus
# Everything comes from Debian's archive; nothing is downloaded from anywhere else.
set -euo pipefail

mode=${1:-main}
case "$mode" in main|test|build|sanitize|fuzz) ;;
  *) echo "usage: $0 main|test|build|sanitize|fuzz (got '$mode')" >&2; exit 2 ;; esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "$mode" in
  sanitize) build=${VQVAE_BUILD_DIR:-$root/build-asan} ;;
  fuzz) build=${VQVAE_BUILD_DIR:-$root/build-fuzz} ;;
  *) build=${VQVAE_BUILD_DIR:-$root/build} ;;
esac

# What `main` needs (the vqvae program and `validate`): the compiler and build tools, LibTorch,
# HDF5, CLI11 and nlohmann-json. libopenblas0-pthread: without it LibTorch runs on the reference
# BLAS, ~40x slower.
packages=(cmake ninja-build g++ libtorch-dev libopenblas0-pthread libhdf5-dev libcli11-dev
          nlohmann-json3-dev)
# What the other modes add (the tests, and commands beyond `validate`):
# libgtest-dev, librapidcheck-dev: the spec and property tests.
# hdf5-tools: h5dump, used by the CLI tests and by people inspecting fixtures.
# gnuplot-nox: draws the `vqvae experiment` plot (PNG through pngcairo; without it the plot is
#   skipped with a message).
# libfaiss-dev: FAISS's IndexFlatL2, the reference `vqvae bench` measures the search kernel against
#   (optional: without it bench leaves FAISS out).
# python3-torch, python3-h5py: `vqvae conform`'s Python driver (tools/python/seed_api_driver.py)
#   and its tests, with Debian's /usr/bin/python3 (the same LibTorch 1.13).
# python3-pytest: the conform pytest plugin (tools/python/vqvae_conform.py) and its tests; it
#   otherwise arrives only as a dependency of the packages above, so it is named.
# python3-sklearn, python3-pandas, python3-matplotlib: what the baseline's modules import (its
#   kmeans_init calls scikit-learn's KMeans; importing its src.evaluation imports its plotting
#   module), so that the driver can import and run them.
# slurmctld, slurmd, slurm-client, munge: the rate sweep's SLURM array job (tools/slurm/) and its
#   test on a one-node cluster started by the test itself (spec_tests/slurm/; no service is
#   started by installing them).
if [ "$mode" != main ]; then
  packages+=(libgtest-dev librapidcheck-dev hdf5-tools gnuplot-nox libfaiss-dev python3-torch
             python3-h5py python3-pytest python3-sklearn python3-pandas python3-matplotlib slurmctld slurmd
             slurm-client munge)
fi
# libFuzzer comes with clang's runtime libraries; only the fuzz mode needs them.
[ "$mode" = fuzz ] && packages+=(clang-14 libclang-rt-14-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

if [ "$mode" = fuzz ]; then
  # Only the fuzz targets: they compile the readers and what they call with clang, not the
  # whole library (tools/fuzz/CMakeLists.txt).
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVQVAE_FUZZ=ON -DVQVAE_BUILD_TESTS=OFF > /dev/null
  cmake --build "$build" -j "$(nproc)" --target fuzz_config_reader fuzz_hdf5_reader
else
  # VQVAE_BUILD_TESTS is given every time, since `main` and the other modes share build/.
  configure=(-DVQVAE_BUILD_TESTS=ON)
  targets=()
  if [ "$mode" = main ]; then
    # Only what `main` runs: the vqvae program (and the library it links), not the tests and fuzz
    # replays (not even configured: their packages are not installed yet); `test` configures them
    # in the same folder and builds the rest, reusing the library's objects.
    configure=(-DVQVAE_BUILD_TESTS=OFF)
    targets=(--target vqvae_cli)
  fi
  [ "$mode" = sanitize ] && configure+=(-DVQVAE_SANITIZE=ON)
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${configure[@]}" > /dev/null
  cmake --build "$build" -j "$(nproc)" "${targets[@]}"
fi

# Sanitizer run-time settings: any ASan, LeakSanitizer or UBSan report fails the process (UBSan
# would otherwise print and go on), with a stack trace. Leak detection is on, with no
# suppressions: LibTorch, HDF5 and this project's code leak nothing at exit in these tests.
sanitizer_env=(ASAN_OPTIONS=detect_leaks=1
               UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)

# ctest, then the skip policy (tools/check_skips.sh): a test that did not run fails the set-up
# unless spec_tests/allowed_skips.txt lists it with its reason; the count of skips is printed
# either way. ctest's own output is kept in $build/ctest.log.
run_ctest() {
  set +e
  (cd "$build" && ctest "$@") 2>&1 | tee "$build/ctest.log"
  status=$?
  set -e
  sh "$root/tools/check_skips.sh" "$build/ctest.log" || status=1
  return $status
}

case "$mode" in
  main) "$build/vqvae" validate ;;
  test) run_ctest --output-on-failure -j "$(nproc)" ;;
  build) ;;
  # -LE deprecation: the two deprecation.* tests check that a use of the deprecated API fails
  # to *compile* (try_compile, nothing runs), so a sanitizer has nothing to check there; they
  # run in the normal build (mode test).
  # -LE measures: the tests that measure the program's own peak memory and time against fixed
  # bounds (ASan's shadow memory and instrumentation multiply both).
  # -LE audit: the conform mutation audit (~230 conform runs, minutes; it measures the checks'
  # coverage, not memory safety: the conform tests above run the same code under the sanitizers).
  # -LE variants: the conform doubles with one bug each and the --area runs (the same referee
  # code as the fixed double, which runs here; spec_tests/CMakeLists.txt).
  # -LE sanitizer_heavy: the double-signal case, whose first evaluation of 65536 codewords takes
  # over 5 minutes under ASan (the other signal cases run).
  sanitize) export "${sanitizer_env[@]}"; run_ctest --output-on-failure -j "$(nproc)" -LE 'deprecation|measures|audit|variants|sanitizer_heavy' ;;
  fuzz)
    # Each target for VQVAE_FUZZ_SECONDS; new inputs go to build-fuzz/corpus/<target>/ (the
    # committed seeds are only read), anything that fails to build-fuzz/findings/<target>/.
    # A request beyond 8 GiB fails (returns NULL) as under a memory limit instead of aborting:
    # libhdf5 asks for 60 GiB on some corrupted headers and handles the failure (see
    # tools/fuzz/libhdf5_findings/). Leaks inside libhdf5 are suppressed, nothing else.
    seconds=${VQVAE_FUZZ_SECONDS:-60}
    status=0
    for target in config_reader hdf5_reader; do
      mkdir -p "$build/corpus/$target" "$build/findings/$target"
      dict=()
      [ -f "$root/tools/fuzz/$target.dict" ] && dict=(-dict="$root/tools/fuzz/$target.dict")
      echo "fuzz: $target for $seconds s"
      env "${sanitizer_env[@]}" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=8192 \
        LSAN_OPTIONS=suppressions="$root/tools/fuzz/lsan_suppressions.txt" \
        "$build/tools/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=4096 -malloc_limit_mb=8192 \
        -timeout=30 "${dict[@]}" -artifact_prefix="$build/findings/$target/" -print_final_stats=1 \
        "$build/corpus/$target" "$root/tools/fuzz/corpus/$target" || { status=1; echo "fuzz: $target: finding in $build/findings/$target/"; }
    done
    exit $status ;;
esac
