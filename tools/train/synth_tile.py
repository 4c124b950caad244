#!/usr/bin/env python3
"""Write one tile of a Karyon synthetic slide as a PNG at a given µm/px (for `karyon-cli detect`), and
optionally compare a `karyon-cli detect --json` result with the slide's truth.

  synth_tile.py write --slide out/train/synth/synth_2048_s1001.tiff --x 0 --y 0 --size 1024 --mpp 0.5 --out tile.png
  karyon-cli detect tile.png --model resources/models/synthetic-test/model.json --json > det.json
  synth_tile.py compare --slide ... --x 0 --y 0 --size 1024 --mpp 0.5 --detections det.json

x, y, size are in level-0 px (0.25 µm/px); the tile is resampled to --mpp with a box filter. `compare`
matches detections to truth nuclei whose centre lies in the tile: a truth nucleus is found when a detection
box centre lies inside its ellipse (greedy, one-to-one)."""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def truth_in_tile(slide, x, y, size):
    with open(slide[: -len(".tiff")] + ".truth.geojson") as f:
        g = json.load(f)
    out = []
    for ft in g["features"]:
        t = ft["properties"]["truth"]
        if x <= t["cx"] < x + size and y <= t["cy"] < y + size:
            out.append(t)
    return out


def write(args):
    import openslide
    sl = openslide.OpenSlide(args.slide)
    im = sl.read_region((args.x, args.y), 0, (args.size, args.size)).convert("RGB")
    s = 0.25 / args.mpp
    im = im.resize((round(args.size * s), round(args.size * s)), Image.BOX)
    im.save(args.out)
    print(f"wrote {args.out} {im.size[0]}x{im.size[1]} at {args.mpp} µm/px; "
          f"{len(truth_in_tile(args.slide, args.x, args.y, args.size))} truth nuclei with centre inside")


def compare(args):
    with open(args.detections) as f:
        det = json.load(f)
    dets = det["detections"] if isinstance(det, dict) else det
    s = 0.25 / args.mpp
    centres = []
    for d in dets:
        b = d["box"]
        if isinstance(b, dict):
            b = [b["x0"], b["y0"], b["x1"], b["y1"]]
        centres.append(((b[0] + b[2]) / 2 / s + args.x, (b[1] + b[3]) / 2 / s + args.y))
    truth = truth_in_tile(args.slide, args.x, args.y, args.size)
    used = set()
    tp = 0
    for t in truth:
        ca, sa = math.cos(t["angle"]), math.sin(t["angle"])
        for k, (cx, cy) in enumerate(centres):
            if k in used:
                continue
            dx, dy = cx - t["cx"], cy - t["cy"]
            u, v = dx * ca + dy * sa, -dx * sa + dy * ca
            if (u / t["a"]) ** 2 + (v / t["b"]) ** 2 <= 1.0:
                used.add(k)
                tp += 1
                break
    # Detections whose centre is outside the tile core cannot be judged against centre-in-tile truth;
    # they all lie inside the tile here, so every unmatched detection counts as a false positive.
    fp, fn = len(centres) - tp, len(truth) - tp
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    r = {"truth": len(truth), "detections": len(centres), "tp": tp, "fp": fp, "fn": fn, "f1": round(f1, 4)}
    print(json.dumps(r))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["write", "compare"])
    ap.add_argument("--slide", required=True)
    ap.add_argument("--x", type=int, default=0)
    ap.add_argument("--y", type=int, default=0)
    ap.add_argument("--size", type=int, default=1024, help="level-0 px")
    ap.add_argument("--mpp", type=float, default=0.5)
    ap.add_argument("--out")
    ap.add_argument("--detections")
    args = ap.parse_args()
    write(args) if args.cmd == "write" else compare(args)


if __name__ == "__main__":
    main()
