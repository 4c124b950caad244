#!/usr/bin/env python3
"""Evaluate nucleus models and the classical baseline with one metric code (tools/train/metrics.py).

  # a checkpoint (out/train/.../last.pt) or an exported Karyon card (model.json), MoNuSeg validation split
  evaluate.py --model out/train/real-r18/last.pt --classical --data monuseg-val --json out/train/eval.json
  # a held-out synthetic slide
  evaluate.py --model resources/models/synthetic-test/model.json --data synthetic --seed 1001

Predictions are made at the model's analysis µm/px on the whole image (MoNuSeg: 1000x1000 at 0.25 µm/px ->
~500x500 at 0.5). Instance maps: masks (prob > card mask threshold) painted in ascending score order, so the
higher-scoring nucleus wins overlaps. MoNuSeg metrics are computed at native resolution against the
original labels (predicted maps upsampled by nearest neighbour); synthetic ones at the analysis µm/px.
Numbers are means over images (AJI, PQ, DQ, SQ, F1@0.5, Dice)."""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classical  # noqa: E402
import data  # noqa: E402
import metrics  # noqa: E402
import model as M  # noqa: E402
import tta  # noqa: E402


def load_any(path):
    if path.endswith(".json"):
        return M.load_card(path)
    ck = torch.load(path, map_location="cpu", weights_only=True)  # data only: a checkpoint never runs code
    cfg = ck["cfg"]
    net = M.build(cfg, train=True)
    net.load_state_dict(ck["model"])
    return M.to_inference(net, cfg), cfg


@torch.no_grad()
def predict(net, img, score_thresh, nms_thresh=None, flips=1, view_score=0.05):
    """With flips > 1 (test-time flips, tta.py), each view keeps detections above `view_score`, so that a nucleus
    scored just under the threshold in one view still counts towards the fused score."""
    net.roi_heads.score_thresh = score_thresh if flips == 1 else min(score_thresh, view_score)
    if nms_thresh is not None:
        net.roi_heads.nms_thresh = nms_thresh
    if hasattr(net, "karyon_cfg"):
        M.set_top_n_for(net, net.karyon_cfg, img)  # the card's per-content top-n, as the C++ engine
    x = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).float() / 255.0
    if flips == 1:
        return net([x])[0]
    return tta.predict_with_flips(lambda view: net([view])[0], x, flips)


def to_labels(out, shape, score_thresh, mask_thresh):
    """Instance label map: masks of detections with score > score_thresh, painted in ascending score order."""
    lab = np.zeros(shape, np.int32)
    keep = torch.nonzero(out["scores"] > score_thresh).flatten()
    order = keep[torch.argsort(out["scores"][keep])]
    masks = out["masks"][:, 0].numpy()
    boxes = out["boxes"].floor().int().numpy()
    for k, i in enumerate(order.tolist(), start=1):
        # masks are pasted within their box (plus a pixel of interpolation): paint only that window
        x0, y0 = max(0, boxes[i, 0] - 1), max(0, boxes[i, 1] - 1)
        x1, y1 = min(shape[1], boxes[i, 2] + 2), min(shape[0], boxes[i, 3] + 2)
        window = lab[y0:y1, x0:x1]
        window[masks[i, y0:y1, x0:x1] > mask_thresh] = k
    return lab


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="checkpoint .pt or Karyon card .json")
    ap.add_argument("--classical", action="store_true", help="also evaluate the classical baseline")
    ap.add_argument("--data", default="monuseg-val", choices=["monuseg-val", "monuseg-train", "consep-test", "consep-train", "synthetic"],
                    help="consep-test: every 4th CoNSeP test patch (external validation, another hospital); "
                         "consep-train: every 4th training patch (for choosing thresholds)")
    ap.add_argument("--sweep", help="comma-separated score thresholds: one model run, metrics for each")
    ap.add_argument("--nms-sweep", help="comma-separated box NMS IoU thresholds to sweep too (default: the card's)")
    ap.add_argument("--mask-sweep", help="comma-separated mask thresholds to sweep too (default: the card's)")
    ap.add_argument("--mpp", type=float, default=0.5, help="analysis µm/px (used when no model is given)")
    ap.add_argument("--seed", type=int, default=1001, help="synthetic: slide seed (training used 1..N)")
    ap.add_argument("--size", type=int, default=2048, help="synthetic: slide side at 0.25 µm/px")
    ap.add_argument("--score", type=float, default=None, help="box score threshold (default: the card's)")
    ap.add_argument("--nms", type=float, default=None, help="box NMS IoU threshold (default: the card's)")
    ap.add_argument("--mask", type=float, default=None, help="mask probability threshold (default: the card's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flips", type=int, default=1, choices=[1, 2, 4],
                    help="test-time flips: 1 (none), 2 (+ horizontal), 4 (+ vertical, both); views fused by tta.py")
    ap.add_argument("--top-n-reference-area", type=float, default=None,
                    help="evaluate with the card's top-n counts per this many content pixels (what the product does "
                         "with cards that say so; use it for checkpoints and older cards to compare like with like)")
    ap.add_argument("--rpn-score", type=float, default=None,
                    help="RPN objectness threshold (architecture.rpn_score_thresh; default: the card's)")
    ap.add_argument("--json", help="write per-image and mean results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    net = cfg = None
    mpp = args.mpp
    if args.model:
        net, cfg = load_any(args.model)
        mpp = cfg["input"]["mpp"]
        if args.top_n_reference_area is not None:
            cfg["architecture"]["top_n_reference_area"] = args.top_n_reference_area
            net.karyon_cfg = cfg
        if args.rpn_score is not None:
            cfg["architecture"]["rpn_score_thresh"] = net.rpn.score_thresh = args.rpn_score
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    if args.data == "synthetic":
        import train
        samples = train.synthetic_samples(root, mpp, [args.seed], size=args.size)
    elif args.data == "monuseg-train":
        samples = data.load_monuseg("train", mpp)  # for choosing thresholds without touching validation
    elif args.data in ("consep-test", "consep-train"):
        samples = data.load_consep_eval(args.data.split("-")[1], mpp)
    else:
        samples = data.load_monuseg("val", mpp)

    results = {"data": args.data, "mpp": mpp, "model": args.model, "methods": {}}
    methods = []
    thr = cfg["thresholds"] if cfg else {}
    if net is not None and args.sweep:
        floats = lambda text, default: [float(t) for t in text.split(",")] if text else [default]  # noqa: E731
        scores = floats(args.sweep, thr["box_score"])
        nmss = floats(args.nms_sweep, thr["box_nms"])
        masks = floats(args.mask_sweep, thr["mask"])
        results["sweep"] = {}
        table = []
        for n in nmss:  # one model run per NMS setting (NMS is inside the model), at the lowest score threshold
            outs_n = []
            for s in samples:
                t0 = time.time()
                outs_n.append(predict(net, s.img, min(scores), n))
                print(f"{s.name}: nms {n}: {len(outs_n[-1]['scores'])} detections, {time.time() - t0:.1f}s",
                      flush=True)
            for t in scores:
                for mt in masks:
                    rows = [metrics.instance_metrics(s.native_lab, metrics.upsample(to_labels(o, s.img.shape[:2], t, mt),
                                                                            s.native_lab.shape))
                            for s, o in zip(samples, outs_n)]
                    m = metrics.summarize(rows)
                    key = str(t) if len(nmss) == 1 and len(masks) == 1 else f"score={t},nms={n},mask={mt}"
                    results["sweep"][key] = {**m, "score": t, "nms": n, "mask": mt}
                    table.append(f"| {t} | {n} | {mt} | {m['aji']:.3f} | {m['pq']:.3f} | {m['f1@0.5']:.3f} | "
                                 f"{m['precision@0.5']:.3f} | {m['recall@0.5']:.3f} | {m['dice']:.3f} |")
        print("\n| score > | NMS | mask > | AJI | PQ | F1@0.5 | precision | recall | Dice |\n"
              "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(table), flush=True)
        best = max(results["sweep"].values(), key=lambda m: m["aji"])
        print(f"best AJI: score > {best['score']}, NMS {best['nms']}, mask > {best['mask']}: {best['aji']:.3f}")
        net = None
    if net is not None:
        score = args.score if args.score is not None else thr["box_score"]
        nms = args.nms if args.nms is not None else thr["box_nms"]
        mask = args.mask if args.mask is not None else thr["mask"]
        last_scores = {}

        def model_fn(img):
            out = predict(net, img, score, nms, flips=args.flips)
            # to_labels paints in ascending score order: label k is the k-th lowest score above the threshold
            last_scores["v"] = np.sort(out["scores"][out["scores"] > score].numpy())
            return to_labels(out, img.shape[:2], score, mask)
        methods.append(("model", model_fn))
        results["score_threshold"] = score
        results["thresholds"] = {"box_score": score, "box_nms": nms, "mask": mask}
        results["flips"] = args.flips
    if args.classical:
        methods.append(("classical", lambda img: classical.segment(img, mpp)))
    for name, fn in methods:
        rows = []
        pairs = []  # (score, matched) of every prediction, for the reliability table
        secs = 0.0
        for s in samples:
            t0 = time.time()
            lab = fn(s.img)
            secs += time.time() - t0
            up = metrics.upsample(lab, s.native_lab.shape)
            r = metrics.instance_metrics(s.native_lab, up)
            r["image"] = s.name
            if name == "model":
                pairs += [(float(last_scores["v"][i - 1]), ok) for i, ok in
                          metrics.matched_predictions(s.native_lab, up).items()]
            rows.append(r)
            print(f"{name:9s} {s.name:26s} AJI {r['aji']:.3f} PQ {r['pq']:.3f} F1@.5 {r['f1@0.5']:.3f} "
                  f"Dice {r['dice']:.3f} gt {r['n_gt']} pred {r['n_pred']}", flush=True)
        mean = metrics.summarize(rows)
        mean["seconds_per_image"] = secs / len(samples)
        results["methods"][name] = {"mean": mean, "per_image": rows}
        if pairs:
            results["methods"][name]["reliability"] = metrics.reliability(pairs)
    print("\n| method | AJI | PQ | DQ | SQ | F1@0.5 | precision | recall | pixel Dice | s/image |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results["methods"].items():
        m = r["mean"]
        print(f"| {name} | {m['aji']:.3f} | {m['pq']:.3f} | {m['dq']:.3f} | {m['sq']:.3f} | {m['f1@0.5']:.3f} | "
              f"{m['precision@0.5']:.3f} | {m['recall@0.5']:.3f} | {m['dice']:.3f} | {m['seconds_per_image']:.2f} |")
    for name, r in results["methods"].items():
        if "reliability" in r:
            print(f"\n{name}: precision (IoU > 0.5) per score bin\n| score | n | precision |\n|---|---|---|")
            for b in r["reliability"]:
                print(f"| {b['bin'][0]:.1f}-{b['bin'][1]:.1f} | {b['n']} | {b['precision']:.3f} |")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
