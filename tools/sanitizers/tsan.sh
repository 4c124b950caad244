#!/usr/bin/env bash
# ThreadSanitizer over the code that has threads: builds the `tsan` preset (pipeline, batch and karyon-cli
# with LibTorch on CPU; no Qt) in build-tsan/ and runs the pipeline and batch tests under TSan. A report
# fails the test (TSan's exit code 66). Suppressions (tools/sanitizers/tsan.supp) cover system libraries only.
#
#   tools/sanitizers/tsan.sh            (scripts/test.sh --asan runs it; KARYON_JOBS: build jobs)
#
# Left out: the two tests of the shipped model's accuracy and tiling invariance on real tissue (they run the
# same threaded code as the others, on more tiles: minutes under TSan); bad_input.bounded_memory (it bounds
# the RSS, which TSan's shadow memory multiplies); disk_full_then_resume (under its 120 KB RLIMIT_FSIZE the
# TSan process dies of SIGBUS inside the runtime, "nested bug", before Karyon reports the full disk; not
# understood yet; it passes under ASan, tools/sanitizers/asan.sh); the Slurm test (it skips here); and the
# bad-input tests that check refusals and messages (evaluate_inputs, messages_name_file, nonsense_values,
# validated_before_output, fifo_inputs): their analyses stop before the reader and worker threads start or
# repeat what the Analyze tests run, and ASan + UBSan runs them. The ones that stop a running analysis
# (truncated_slide, damaged_tile, minor's SIGTERM, resume_hint, output_folder_guard) stay.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TORCH_CMAKE=$(.venv/bin/python -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "share", "cmake"))')
cmake --preset tsan -DKARYON_PYTHON="$ROOT/.venv/bin/python" -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" >/dev/null
cmake --build build-tsan --target pipeline_tests batch_tests karyon-cli -j "${KARYON_JOBS:-$(nproc)}"
export TSAN_OPTIONS="suppressions=$ROOT/tools/sanitizers/tsan.supp second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
ctest --test-dir build-tsan -L 'pipeline|batch' -E 'default_model_accuracy|tiling_invariance|bounded_memory|disk_full|slurm|evaluate_inputs|messages_name_file|nonsense_values|validated_before_output|fifo_inputs' \
  -j "$(nproc)" --output-on-failure --timeout 900
