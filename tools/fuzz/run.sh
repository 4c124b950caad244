#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan, in build-fuzz/) if needed, generates
# their seed corpora from the real files in ../shared/data if missing, and runs each target for SECONDS
# (default 60), one after the other, with leak detection on. Prints executions, exec/s and findings per
# target; exits 1 if any target found something (its input is kept in build-fuzz/findings/TARGET/).
#
#   tools/fuzz/run.sh [SECONDS] [TARGET ...]        e.g. tools/fuzz/run.sh 30; tools/fuzz/run.sh 600 fuzz_geojson
#
# Environment: KARYON_FUZZ_SEED (libFuzzer -seed, default random), KARYON_FUZZ_BUILD (build folder, default build-fuzz), KARYON_FUZZ_NICE (niceness of the
# fuzzers, default 10), KARYON_JOBS (build jobs, default nproc), KARYON_SHARED_DATA (default ../shared/data).
# The corpus each run grows is kept in build-fuzz/corpus/TARGET, so later runs start where earlier ones ended.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-60}
shift || true
BUILD=${KARYON_FUZZ_BUILD:-$ROOT/build-fuzz}
NICE=${KARYON_FUZZ_NICE:-10}
DATA=${KARYON_SHARED_DATA:-$ROOT/../shared/data}
ALL_TARGETS=(fuzz_geojson fuzz_imagescope_xml fuzz_label_map fuzz_mask_folder fuzz_model_card fuzz_safetensors fuzz_slide_open)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }

# Largest input per target: small files only (a seed is at most a few KB; room to grow).
max_len() {
  case $1 in
    fuzz_label_map|fuzz_mask_folder|fuzz_slide_open) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

# Dictionary per target (tools/fuzz/*.dict), if any.
dict_for() {
  case $1 in
    fuzz_geojson|fuzz_model_card|fuzz_safetensors) echo "-dict=$ROOT/tools/fuzz/json.dict" ;;
    fuzz_imagescope_xml) echo "-dict=$ROOT/tools/fuzz/xml.dict" ;;
  esac
}

# --- build ------------------------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
  say "configuring $BUILD (preset fuzz)"
  if [ "$BUILD" = "$ROOT/build-fuzz" ]; then
    cmake --preset fuzz >/dev/null || exit 2
  else
    cmake --preset fuzz -B "$BUILD" >/dev/null || exit 2
  fi
fi
say "building the fuzz targets in $BUILD"
nice -n 5 cmake --build "$BUILD" --target karyon-fuzzers -j "${KARYON_JOBS:-$(nproc)}" || exit 2

# --- seeds ------------------------------------------------------------------------------------
SEEDS=$BUILD/seeds
if [ ! -d "$SEEDS" ]; then
  PY=$ROOT/.venv/bin/python
  [ -x "$PY" ] || PY=python3
  say "generating seed corpora from $DATA into $SEEDS"
  "$PY" tools/fuzz/make_seeds.py "$SEEDS.tmp" --data "$DATA" || exit 2
  mv "$SEEDS.tmp" "$SEEDS"
fi
for t in "${TARGETS[@]}"; do mkdir -p "$SEEDS/$t"; done  # a target without seeds starts from scratch

# --- run --------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
command -v llvm-symbolizer >/dev/null || { ls /usr/bin/llvm-symbolizer-* >/dev/null 2>&1 && export ASAN_SYMBOLIZER_PATH=$(ls /usr/bin/llvm-symbolizer-* | head -1); }
mkdir -p "$BUILD/logs" "$BUILD/corpus" "$BUILD/findings"
REPORT=$BUILD/fuzz-report.txt
printf '%-22s %8s %12s %9s %8s  %s\n' target seconds executions exec/s corpus findings | tee "$REPORT"
status=0
for t in "${TARGETS[@]}"; do
  bin=$BUILD/tools/fuzz/$t
  [ -x "$bin" ] || { say "no $bin"; status=2; continue; }
  corpus=$BUILD/corpus/$t findings=$BUILD/findings/$t log=$BUILD/logs/$t.log
  mkdir -p "$corpus" "$findings"
  before=$(ls "$findings" | wc -l)
  start=$(date +%s)
  nice -n "$NICE" "$bin" "$corpus" "$SEEDS/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" $(dict_for "$t") \
    ${KARYON_FUZZ_SEED:+-seed=$KARYON_FUZZ_SEED} -timeout=25 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(ls "$corpus" | wc -l)
  new=$(( $(ls "$findings" | wc -l) - before ))
  what="0"
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    status=1
    what="$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|terminate called' "$log" | cut -c1-120) (rc $rc; $log; $(ls -t "$findings" | head -1))"
  fi
  printf '%-22s %8s %12s %9s %8s  %s\n' "$t" "$elapsed" "${execs:-?}" "${rate:-?}" "$units" "$what" | tee -a "$REPORT"
  # CI keeps only what is printed: the stack and the input (base64, small inputs only) let a finding be
  # reproduced elsewhere (`base64 -d > x; $bin x`).
  if [ "$what" != "0" ]; then
    grep -m1 -A24 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | grep -E '^ *#|ERROR|error' | head -25
    input=$findings/$(ls -t "$findings" | head -1)
    [ -f "$input" ] && [ "$(stat -c %s "$input")" -le 16384 ] && { echo "input (base64):"; base64 -w 0 "$input"; echo; }
  fi
done
say "report: $REPORT"
exit $status
