#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) over every module but the Qt app: builds the
# `asan` preset (LibTorch on CPU, -O1 -g) in build-asan/ and runs its tests. Any report fails the test.
#
#   tools/sanitizers/asan.sh            (scripts/test.sh --asan runs it; KARYON_JOBS: build jobs)
#
# -O1, not -O0: the same findings (the sanitizers instrument every access either way) and the pipeline tests
# run ~35 % faster (measured: pipeline + batch 1024 s at -O1 against 1495 s at -O0, same machine).
# Left out: the shipped model's accuracy and tiling-invariance tests on real tissue (minutes more, the same
# code as the other pipeline tests on more tiles); batch.cli (9 min here; it runs serial slides through the
# same analysis the pipeline tests cover, and it runs under ThreadSanitizer, tools/sanitizers/tsan.sh); the
# Slurm test (it skips here); and, to keep CI under its limit, the three tests about threads, workers and
# interruption (Analyze.same_nuclei_whatever_the_threads..., Analyze.cancel_leaves_a_store..., kill_and_resume:
# ~5 min here), which run under ThreadSanitizer. The installed-tree test is not built in sanitizer builds
# (tests/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TORCH_CMAKE=$(.venv/bin/python -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "share", "cmake"))')
cmake --preset asan -DKARYON_PYTHON="$ROOT/.venv/bin/python" -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" >/dev/null
# The test binaries and the CLI they run; not the benchmark tools (nothing here runs them).
cmake --build build-asan -j "${KARYON_JOBS:-$(nproc)}" --target core_tests tiling_tests postprocess_tests \
  karyon_inference_tests pipeline_tests batch_tests karyon-cli
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
ctest --test-dir build-asan -E 'default_model_accuracy|tiling_invariance|slurm|^batch\.cli$|same_nuclei_whatever_the_threads|cancel_leaves_a_store|kill_and_resume' \
  -j "$(nproc)" --output-on-failure --timeout 900
