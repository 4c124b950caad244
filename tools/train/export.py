#!/usr/bin/env python3
"""Export a training checkpoint to Karyon's model format (fp16 safetensors + JSON card) through
tools/model/convert_torchvision.export, with provenance, metrics and licence in the card.

  export.py --checkpoint out/train/synth-r18/last.pt --out resources/models/synthetic-test/model \
      --name karyon-synthetic-test --metrics out/train/synth-eval.json --license "..." --provenance '{"...": "..."}'
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True, help="output stem: writes OUT.safetensors + OUT.json")
    ap.add_argument("--name", required=True)
    ap.add_argument("--dtype", default="fp16", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--thresholds", default="{}", help="JSON overrides of the card thresholds")
    ap.add_argument("--arch", default="{}",
                    help="JSON overrides of inference-only architecture fields, e.g. '{\"top_n_reference_area\": 262144}' "
                         "(proposal budgets per 512² px of content, as every shipped card)")
    ap.add_argument("--metrics", help="JSON file (evaluate.py --json) or inline JSON object")
    ap.add_argument("--provenance", default="{}", help="JSON object")
    ap.add_argument("--license", required=True)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=True)  # data only: a checkpoint never runs code
    cfg = ck["cfg"]
    cfg["thresholds"].update(json.loads(args.thresholds))
    arch = json.loads(args.arch)
    trained = {k for k in arch if k not in ("top_n_reference_area", "rpn_pre_nms_top_n", "rpn_post_nms_top_n")}
    if trained:
        sys.exit(f"--arch may only change inference budgets, not the trained network: {sorted(trained)}")
    cfg["architecture"].update(arch)
    net = M.build(cfg, train=True)
    net.load_state_dict(ck["model"])
    metrics = {}
    if args.metrics:
        if os.path.exists(args.metrics):
            with open(args.metrics) as f:
                m = json.load(f)
            metrics = {"data": m.get("data"), "score_threshold": m.get("score_threshold"),
                       "thresholds": m.get("thresholds"),
                       **{k: v["mean"] for k, v in m["methods"].items()}}
        else:
            metrics = json.loads(args.metrics)
    prov = dict(json.loads(args.provenance), checkpoint=os.path.basename(args.checkpoint), train_steps=ck["step"],
                train_args={k: v for k, v in ck["args"].items() if k not in ("out",)})
    w, c = M.export(net, cfg, args.out, args.dtype, name=args.name, provenance=prov, metrics=metrics,
                    license_=args.license)
    print(f"wrote {w} ({os.path.getsize(w) / 1e6:.1f} MB) and {c}")


if __name__ == "__main__":
    main()
