#!/usr/bin/env python3
"""The validation images through the product, as a user would run it: `karyon-cli analyze` on each image
(`--mpp 0.25`: tiling, tissue detection, tile merge, polygons) and `karyon-cli evaluate` of its nuclei.geojson
against the original annotation. Means over images, like tools/train/evaluate.py, which scores raster masks of
whole images instead. Sets:
  monuseg-val   the 6 MoNuSeg validation images (ImageScope XML or label maps), 1000² at 40x
  consep-test   every 4th CoNSeP test patch (56 of 224, 256² JPEG at 40x, 16-bit label maps): an external
                validation set from another hospital and organ (colorectal); never trained on

  product_eval.py --cli build/app/karyon-cli [--model CARD.json] [--set consep-test] --out DIR [--json F]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

KEYS = ["aji", "pq", "dq", "sq", "f1", "precision", "recall", "dice"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", help="model card (default: the CLI's default model)")
    ap.add_argument("--out", required=True, help="folder for the analyses (replaced)")
    ap.add_argument("--json", help="write per-image and mean results here")
    ap.add_argument("--set", default="monuseg-val", choices=["monuseg-val", "consep-test"])
    ap.add_argument("--extra", default="", help="more analyze flags, space-separated (e.g. '--tile-size 256')")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    rows = []
    if args.set == "monuseg-val":
        items = [(n, i, t) for n, _, i, t in data.monuseg_items() if n in data.MONUSEG_VAL]
    else:
        items = data.consep_patches("test")[::4]
    for name, image, truth in items:
        out = os.path.join(args.out, name)
        cmd = [args.cli, "analyze", image, "-o", out, "--mpp", "0.25"] + (["--model", args.model] if args.model else []) \
            + args.extra.split()
        subprocess.run(cmd, check=True, capture_output=True)
        r = json.loads(subprocess.run([args.cli, "evaluate", os.path.join(out, "nuclei.geojson"), truth, "--json"],
                                      check=True, capture_output=True, text=True).stdout)
        r["image"] = name
        rows.append(r)
        print(f"{name:26s} AJI {r['aji']:.3f} PQ {r['pq']:.3f} F1@0.5 {r['f1']:.3f} Dice {r['dice']:.3f} "
              f"truth {r['truth']} predicted {r['predicted']}", flush=True)
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in KEYS}
    mean.update(n_images=len(rows), truth=sum(r["truth"] for r in rows), predicted=sum(r["predicted"] for r in rows))
    print("\n| AJI | PQ | DQ | SQ | F1@0.5 | precision | recall | Dice |\n|---|---|---|---|---|---|---|---|")
    print("| " + " | ".join(f"{mean[k]:.3f}" for k in KEYS) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"set": args.set, "mean": mean, "per_image": rows, "model": args.model or "default",
                       "extra": args.extra}, f, indent=1)


if __name__ == "__main__":
    main()
