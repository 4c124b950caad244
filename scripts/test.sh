#!/usr/bin/env bash
# Newcomer command 2: set up, build, and run every test (ctest). `--asan` (what CI runs) also runs the tests
# under ASan + UBSan + LSan (every module but Qt, with LibTorch), the pipeline and batch tests under
# ThreadSanitizer (with LibTorch), then a 30 s smoke of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD=${KARYON_BUILD_DIR:-build}
ctest --test-dir "$BUILD" -j "$(nproc)" --output-on-failure --timeout 600
if [ "${1:-}" = "--asan" ]; then
  echo "[test] ASan + UBSan + LSan: every module but Qt, LibTorch on CPU (build-asan, tools/sanitizers/asan.sh)"
  tools/sanitizers/asan.sh
  echo "[test] ThreadSanitizer: pipeline and batch tests with LibTorch on CPU (build-tsan, tools/sanitizers/tsan.sh)"
  tools/sanitizers/tsan.sh
  echo "[test] fuzz smoke: each libFuzzer target 30 s under ASan + UBSan + LSan (tools/fuzz/run.sh, build-fuzz)"
  # A fixed seed, so that a finding here is found again by the same command on another machine.
  KARYON_FUZZ_SEED=${KARYON_FUZZ_SEED:-1} tools/fuzz/run.sh 30
fi
