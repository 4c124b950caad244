#!/usr/bin/env python3
"""The peer Karyon's CPU speed is measured against (issue 12): the whole-slide script a lab would write with
openslide-python and torchvision, on the same weights. Straightforward on purpose: read 512 px tiles (overlap 48) at
the level whose µm/px is nearest the model's, run torchvision's MaskRCNN on every tile, threshold the masks, count
the nuclei. No tissue detection, no merging, no outlines, no storage: everything Karyon does on top is extra work
for Karyon, not for the peer.

  peer_torchvision.py SLIDE [--model CARD] [--threads N] [--tile 512] [--overlap 48] [--json OUT]

Prints one line and writes {tiles, nuclei, seconds, tiles_per_second, threads} to --json. The time covers the whole
process after Python's imports: model load, reading, inference, thresholding."""
import argparse
import json
import os
import sys
import time

import numpy as np
import openslide
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import model as M  # noqa: E402  (torchvision MaskRCNN built from a Karyon card: same network, same weights)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("slide")
    ap.add_argument("--model", default=os.path.join(ROOT, "resources", "models", "nuclei-default", "model.json"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=48)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    net, cfg = M.load_card(args.model)  # the card's fixed top-n counts (on Karyon's cards: per 512² tile)
    thresholds = cfg["thresholds"]
    slide = openslide.OpenSlide(args.slide)
    mpp = float(slide.properties.get(openslide.PROPERTY_NAME_MPP_X, cfg["input"]["mpp"]))
    level = min(range(slide.level_count),
                key=lambda lv: abs(mpp * slide.level_downsamples[lv] - cfg["input"]["mpp"]))
    ds = slide.level_downsamples[level]
    w, h = slide.level_dimensions[level]
    step = args.tile - args.overlap
    tiles = nuclei = 0
    with torch.no_grad():
        for y in range(0, max(1, h - args.overlap), step):
            for x in range(0, max(1, w - args.overlap), step):
                rgb = np.asarray(slide.read_region((int(x * ds), int(y * ds)), level, (args.tile, args.tile)).convert("RGB"))
                out = net([torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255.0])[0]
                keep = out["scores"] > thresholds["box_score"]
                masks = out["masks"][keep, 0] > thresholds["mask"]
                nuclei += int((masks.flatten(1).any(1)).sum())
                tiles += 1
    secs = time.perf_counter() - t0
    r = {"tiles": tiles, "nuclei": nuclei, "seconds": secs, "tiles_per_second": tiles / secs, "threads": args.threads}
    print(f"peer (openslide-python + torchvision): {tiles} tiles, {nuclei} nuclei, {secs:.1f} s, "
          f"{tiles / secs:.2f} tiles/s, {args.threads} threads")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
