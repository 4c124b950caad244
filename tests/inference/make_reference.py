#!/usr/bin/env python3
"""ctest fixture: builds small random-initialised Mask R-CNN models with torchvision (fixed seeds),
exports them in Karyon's format, runs torchvision on synthetic H&E-like images, and writes the
reference detections plus torchvision.ops reference outputs (nms, batched_nms, roi_align) for the
C++ GoogleTests to compare against. Usage: make_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from torchvision.ops import batched_nms, nms, roi_align

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "model"))
import convert_torchvision as cv  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "train"))
import model as train_model  # noqa: E402  (set_top_n_for: the card's per-content top-n counts)

torch.set_num_threads(2)

# Nuclei-sized anchors, many detections, low score threshold: random heads give near-random
# detections, and a low threshold plus a foreground bias makes the comparison non-vacuous.
TEST_CFG = {
    "architecture": {
        "anchor_sizes": [[8], [16], [32], [64], [128]],
        "rpn_pre_nms_top_n": 300,
        "rpn_post_nms_top_n": 200,
        "representation_size": 256,
    },
    "thresholds": {"box_score": 0.05, "box_nms": 0.5, "detections_per_img": 100, "mask": 0.5},
    "input": {"mpp": 0.5},
}


def synthetic_he(h, w, seed):
    """Pink background with purple elliptical blobs (nucleus-like), plus noise."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (235, 200, 220)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(int(h * w / 900)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(4, 10), rng.uniform(4, 10)
        m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        img[m] = (rng.uniform(60, 120), rng.uniform(30, 80), rng.uniform(120, 180))
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def run_torchvision(model, img_u8, score_thresh_mask=0.5):
    x = torch.from_numpy(img_u8).permute(2, 0, 1).float() / 255.0
    with torch.inference_mode():
        out = model([x])[0]
    return {
        "boxes": out["boxes"].contiguous(),
        "scores": out["scores"].contiguous(),
        "labels": out["labels"].contiguous(),
        "masks": (out["masks"][:, 0] > score_thresh_mask).to(torch.uint8).contiguous(),
    }


def make_model_case(out_dir, name, backbone, seed, dtype, images, arch=None, thresholds=None, batch=False):
    cfg_in = json.loads(json.dumps(TEST_CFG))
    cfg_in["architecture"]["backbone"] = backbone
    cfg_in["architecture"].update(arch or {})
    cfg_in["thresholds"].update(thresholds or {})
    cfg = cv.full_config(cfg_in)
    model = cv.randomise(cv.build_model(cfg), seed, fg_bias=1.5)
    _, card = cv.export(model, cfg, os.path.join(out_dir, name), dtype, name,
                        {"source": "random init (test fixture)", "seed": seed})
    # The reference runs on what the file holds (fp16 storage rounds the weights).
    model, _ = cv.load_model_card_weights(card)
    tensors = {}
    summary = []
    for i, img in enumerate(images):
        train_model.set_top_n_for(model, cfg, img)
        r = run_torchvision(model, img)
        tensors[f"image{i}"] = torch.from_numpy(img).contiguous()
        for k, v in r.items():
            tensors[f"{k}{i}"] = v
        summary.append(int(r["boxes"].shape[0]))
    if batch:
        # All images in one forward pass (different sizes: padded together, as torchvision does).
        xs = [torch.from_numpy(im).permute(2, 0, 1).float() / 255.0 for im in images]
        with torch.inference_mode():
            outs = model(xs)
        for i, o in enumerate(outs):
            tensors[f"batch_boxes{i}"] = o["boxes"].contiguous()
            tensors[f"batch_scores{i}"] = o["scores"].contiguous()
            tensors[f"batch_labels{i}"] = o["labels"].contiguous()
            tensors[f"batch_masks{i}"] = (o["masks"][:, 0] > 0.5).to(torch.uint8).contiguous()
    save_file(tensors, os.path.join(out_dir, name + "_ref.safetensors"))
    print(f"{name}: {backbone} seed {seed} {dtype}: detections per image {summary}")


def make_ops_reference(out_dir):
    g = torch.Generator().manual_seed(123)
    t = {}

    def rand_boxes(n, lo=-20.0, hi=120.0):
        xy = torch.rand(n, 2, generator=g) * (hi - lo) + lo
        wh = torch.rand(n, 2, generator=g) * 40
        return torch.cat([xy, xy + wh], 1)

    # nms: random, heavy overlap, empty, duplicates (ties), degenerate (zero-area) boxes.
    cases = {
        "random": (rand_boxes(300), torch.rand(300, generator=g), 0.5),
        "dense": (rand_boxes(500, 0, 30), torch.rand(500, generator=g), 0.3),
        "empty": (torch.zeros(0, 4), torch.zeros(0), 0.5),
        "ties": (torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60.]]),
                 torch.tensor([0.5, 0.5, 0.5, 0.5]), 0.5),
        "degenerate": (torch.tensor([[5, 5, 5, 5], [5, 5, 15, 15], [20, 20, 10, 10.]]),
                       torch.tensor([0.9, 0.8, 0.7]), 0.5),
    }
    for k, (b, s, thr) in cases.items():
        t[f"nms_{k}_boxes"], t[f"nms_{k}_scores"] = b.contiguous(), s.contiguous()
        t[f"nms_{k}_thr"] = torch.tensor([thr])
        t[f"nms_{k}_keep"] = nms(b, s, thr)
    # batched_nms: small (coordinate-trick path) and > 4000 numbers (per-class path) in torchvision.
    for k, n in {"small": 200, "large": 3000}.items():
        b, s = rand_boxes(n), torch.rand(n, generator=g)
        idx = torch.randint(0, 5, (n,), generator=g)
        t[f"bnms_{k}_boxes"], t[f"bnms_{k}_scores"], t[f"bnms_{k}_idxs"] = b, s, idx
        t[f"bnms_{k}_keep"] = batched_nms(b, s, idx, 0.5)
    # roi_align: boxes inside, partly and fully outside, tiny and zero-size; aligned both ways;
    # fixed and adaptive sampling; empty rois.
    feat = torch.randn(2, 8, 20, 24, generator=g)
    rois = torch.cat([torch.randint(0, 2, (40, 1), generator=g).float(), rand_boxes(40, -30, 110)], 1)
    rois = torch.cat([rois, torch.tensor([[0, 10, 10, 10, 10], [1, 200, 200, 240, 260], [0, -50, -50, -10, -5],
                                          [1, 3.3, 4.4, 3.9, 4.5]])], 0)
    t["roi_feat"], t["roi_rois"] = feat, rois.contiguous()
    for name, (scale, out, sr, aligned) in {
        "a": (0.25, 7, 2, False), "b": (0.5, 14, 2, False), "c": (0.25, 5, 2, True),
        "d": (0.125, 7, -1, False), "e": (1.0, 3, 3, True),
    }.items():
        t[f"roi_{name}_params"] = torch.tensor([scale, out, sr, float(aligned)])
        t[f"roi_{name}_out"] = roi_align(feat, rois, out, scale, sr, aligned).contiguous()
    t["roi_empty_out"] = roi_align(feat, torch.zeros(0, 5), 7, 0.25, 2, False)
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(out_dir, "ops_ref.safetensors"))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    images = [synthetic_he(160, 192, 7), synthetic_he(128, 128, 8), synthetic_he(200, 150, 9)]
    make_ops_reference(out_dir)
    make_model_case(out_dir, "r18", "resnet18", 1, "fp32", images, batch=True)
    # torchvision's resize (min_size/max_size, here an upscale by 1.2) and >= 1000 detections per tile.
    # A thin mask head (configurable like torchvision's MaskRCNNHeads) keeps these fast: with 256
    # channels the mask head costs ~1 TFLOP for 1000 detections.
    thin = {"mask_layers": [64, 64], "mask_dim_reduced": 64, "representation_size": 128}
    make_model_case(out_dir, "r18_resize", "resnet18", 4, "fp32", [synthetic_he(200, 240, 11)],
                    arch=dict(thin, min_size=192, max_size=288, rpn_pre_nms_top_n=2000, rpn_post_nms_top_n=2000),
                    thresholds={"box_score": 0.0, "detections_per_img": 1200})
    make_model_case(out_dir, "r18_thin", "resnet18", 5, "fp32", images[:1], arch=thin)
    make_model_case(out_dir, "r50", "resnet50", 2, "fp32", images[:2])
    make_model_case(out_dir, "r34_fp16", "resnet34", 3, "fp16", images[:1])
    # Top-n counts per content pixel (top_n_reference_area): a tile that is half glass gets half the proposals
    # and detections of one that is all tissue; small counts so that they bind.
    half_glass = synthetic_he(192, 192, 12)
    half_glass[:, :96] = 245
    make_model_case(out_dir, "r18_content", "resnet18", 6, "fp32", [half_glass, synthetic_he(192, 192, 13)],
                    arch=dict(thin, rpn_pre_nms_top_n=400, rpn_post_nms_top_n=200, top_n_reference_area=192 * 192),
                    thresholds={"box_score": 0.0, "detections_per_img": 60})
    # Tiles of one size for the batch/worker determinism test.
    tiles = [synthetic_he(128, 128, 100 + i) for i in range(5)]
    save_file({f"tile{i}": torch.from_numpy(x) for i, x in enumerate(tiles)}, os.path.join(out_dir, "tiles.safetensors"))
    with open(os.path.join(out_dir, "DONE"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
