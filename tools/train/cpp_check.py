#!/usr/bin/env python3
"""Check that the C++ engine (karyon-cli detect) and torchvision give the same detections for an exported card on
one MoNuSeg validation image resampled to the card's µm/px, and score both against the truth with one metric code.

  cpp_check.py --card resources/models/nuclei-default/model.json --cli build/app/karyon-cli
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import metrics  # noqa: E402
import model as M  # noqa: E402
from evaluate import predict, to_labels  # noqa: E402
from metrics import upsample  # noqa: E402


def cpp_labels(dets, shape):
    """The C++ detections (box-local RLE masks) painted like evaluate.to_labels: ascending score, later wins."""
    lab = np.zeros(shape, np.int32)
    for k, d in enumerate(sorted(dets, key=lambda d: d["score"]), start=1):
        m = d["mask"]
        flat = np.zeros(m["width"] * m["height"], bool)
        pos, val = 0, False
        for run in m["rle"]:
            flat[pos:pos + run] = val
            pos, val = pos + run, not val
        x, y = m["x"], m["y"]
        win = lab[y:y + m["height"], x:x + m["width"]]
        win[flat.reshape(m["height"], m["width"])[:win.shape[0], :win.shape[1]]] = k
    return lab


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--card", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--image", default="TCGA-AR-A1AS-01Z-00-DX1")
    args = ap.parse_args()
    torch.set_num_threads(1)
    net, cfg = M.load_card(args.card)
    thr = cfg["thresholds"]
    sample = next(s for s in data.load_monuseg("val", cfg["input"]["mpp"]) if s.name == args.image)
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, args.image + ".png")
        Image.fromarray(sample.img).save(png)
        out = subprocess.run([args.cli, "detect", png, "--model", args.card, "--json"], check=True,
                             capture_output=True, text=True).stdout
    cpp = json.loads(out)["detections"]
    ref = predict(net, sample.img, thr["box_score"], thr["box_nms"])
    n_ref = len(ref["scores"])
    print(f"{args.image} at {cfg['input']['mpp']} µm/px ({sample.img.shape[1]}x{sample.img.shape[0]}): "
          f"torchvision {n_ref} detections, C++ {len(cpp)}")
    if n_ref == len(cpp) and n_ref:
        boxes = torch.tensor([d["box"] for d in cpp])
        scores = torch.tensor([d["score"] for d in cpp])
        print(f"max |box difference| {float((boxes - ref['boxes']).abs().max()):.2e} px, "
              f"max |score difference| {float((scores - ref['scores']).abs().max()):.2e}")
    for name, lab in (("torchvision", to_labels(ref, sample.img.shape[:2], thr["box_score"], thr["mask"])),
                      ("C++", cpp_labels(cpp, sample.img.shape[:2]))):
        r = metrics.instance_metrics(sample.native_lab, upsample(lab, sample.native_lab.shape))
        print(f"{name:12s} AJI {r['aji']:.4f} PQ {r['pq']:.4f} F1@0.5 {r['f1@0.5']:.4f} Dice {r['dice']:.4f} "
              f"({r['n_pred']} nuclei, {r['n_gt']} in the truth)")


if __name__ == "__main__":
    main()
