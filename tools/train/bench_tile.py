#!/usr/bin/env python3
"""CPU speed per tile of an exported Karyon model: torchvision (FrozenBN, fp32, --threads) on --repeat runs of a
tile, and the C++ engine through `karyon-cli detect` (one process per run: wall time includes loading the model,
so the C++ number is an upper bound). Prints JSON.

  bench_tile.py --card resources/models/nuclei-default/model.json --tile out/train/cmu1_tile_512.png"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--card", required=True)
    ap.add_argument("--tile", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cli", default="build-inf/app/karyon-cli")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    net, cfg = M.load_card(a.card)
    img = np.asarray(Image.open(a.tile).convert("RGB"))
    x = torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255
    ts = []
    with torch.no_grad():
        net([x])
        for _ in range(a.repeat):
            t0 = time.time()
            n = len(net([x])[0]["scores"])
            ts.append(time.time() - t0)
    cpp = []
    for _ in range(a.repeat):
        t0 = time.time()
        subprocess.run([a.cli, "detect", a.tile, "--model", a.card, "--json"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        cpp.append(time.time() - t0)
    print(json.dumps({"tile": os.path.basename(a.tile), "tile_px": list(img.shape[:2]), "threads": a.threads,
                      "torchvision_s_median": round(float(np.median(ts)), 3), "detections": n,
                      "karyon_cli_detect_s_median_incl_load": round(float(np.median(cpp)), 3),
                      "load_avg_1min": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
