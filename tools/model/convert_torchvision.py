#!/usr/bin/env python3
"""Convert a torchvision Mask R-CNN into Karyon's model format: safetensors weights + JSON model card.

Model files are data, never code: the output holds raw tensors (safetensors) and a JSON card, and the
C++ loader checks every tensor name, shape and dtype against the card's architecture.

Usage:
  # a trained torchvision state_dict (loaded with weights_only=True: no pickle code runs)
  convert_torchvision.py --state-dict model.pth --config arch.json --out models/nuclei
  # a random-initialised model with a fixed seed (tests, benchmarks)
  convert_torchvision.py --random --seed 1 --config arch.json --out /tmp/r18
  # torchvision's own COCO architecture, random weights
  convert_torchvision.py --random --backbone resnet50 --out /tmp/r50

--config is a JSON object with the card's "architecture" keys (see
inference/include/karyon/inference/model_card.hpp) plus optional "thresholds", "input", "class_names".
Writes OUT.safetensors and OUT.json.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops.misc import FrozenBatchNorm2d

DEFAULT_ARCH = {
    "backbone": "resnet50",
    "num_classes": 2,
    "fpn_out_channels": 256,
    "representation_size": 1024,
    "mask_layers": [256, 256, 256, 256],
    "mask_dim_reduced": 256,
    "anchor_sizes": [[32], [64], [128], [256], [512]],
    "aspect_ratios": [[0.5, 1.0, 2.0]] * 5,
    "rpn_pre_nms_top_n": 1000,
    "rpn_post_nms_top_n": 1000,
    "rpn_nms_thresh": 0.7,
    "rpn_score_thresh": 0.0,
    "box_roi_size": 7,
    "mask_roi_size": 14,
    "sampling_ratio": 2,
    "min_size": 0,
    "max_size": 0,
    "size_divisible": 32,
}
DEFAULT_THRESHOLDS = {"box_score": 0.05, "box_nms": 0.5, "detections_per_img": 1000, "mask": 0.5}
DEFAULT_INPUT = {"mpp": 0.25, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def full_config(cfg=None):
    cfg = dict(cfg or {})
    arch = dict(DEFAULT_ARCH)
    arch.update(cfg.get("architecture", {}))
    thr = dict(DEFAULT_THRESHOLDS)
    thr.update(cfg.get("thresholds", {}))
    inp = dict(DEFAULT_INPUT)
    inp.update(cfg.get("input", {}))
    names = cfg.get("class_names") or ["background"] + [
        "nucleus" if arch["num_classes"] == 2 else f"class{i}" for i in range(1, arch["num_classes"])
    ]
    return {"architecture": arch, "thresholds": thr, "input": inp, "class_names": names}


def build_model(cfg):
    """A torchvision MaskRCNN in eval mode built from a full config (see full_config)."""
    a, t, inp = cfg["architecture"], cfg["thresholds"], cfg["input"]
    if a["sampling_ratio"] != 2 or a["box_roi_size"] != 7 or a["mask_roi_size"] != 14:
        raise ValueError("only torchvision's default RoI pooling (7/14, sampling_ratio 2) is supported")
    backbone = resnet_fpn_backbone(backbone_name=a["backbone"], weights=None, trainable_layers=5,
                                   norm_layer=FrozenBatchNorm2d)
    if a["fpn_out_channels"] != backbone.out_channels:
        raise ValueError("fpn_out_channels other than 256 is not supported by resnet_fpn_backbone defaults")
    C = backbone.out_channels
    anchors = AnchorGenerator(tuple(tuple(s) for s in a["anchor_sizes"]),
                              tuple(tuple(r) for r in a["aspect_ratios"]))
    R = a["representation_size"]
    resize = a["min_size"] > 0
    model = MaskRCNN(
        backbone,
        num_classes=None,
        min_size=a["min_size"] if resize else 800,
        max_size=a["max_size"] if resize else 1333,
        image_mean=inp["image_mean"],
        image_std=inp["image_std"],
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_test=a["rpn_pre_nms_top_n"],
        rpn_post_nms_top_n_test=a["rpn_post_nms_top_n"],
        rpn_nms_thresh=a["rpn_nms_thresh"],
        rpn_score_thresh=a["rpn_score_thresh"],
        box_head=TwoMLPHead(C * 7 * 7, R),
        box_predictor=FastRCNNPredictor(R, a["num_classes"]),
        box_score_thresh=t["box_score"],
        box_nms_thresh=t["box_nms"],
        box_detections_per_img=t["detections_per_img"],
        mask_head=MaskRCNNHeads(C, a["mask_layers"], 1),
        mask_predictor=MaskRCNNPredictor(a["mask_layers"][-1], a["mask_dim_reduced"], a["num_classes"]),
    )
    model.transform.size_divisible = a["size_divisible"]
    if not resize:
        # Karyon tiles are already at the model's µm/px: no resize (scale 1), as the C++ engine does.
        model.transform.resize = lambda image, target=None: (image, target)
    return model.eval()


def randomise(model, seed, fg_bias=0.0):
    """Fixed-seed random weights with non-trivial frozen-BN statistics (so the BN maths is exercised)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(2.0 / fan_in))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        for mod in model.modules():
            if isinstance(mod, FrozenBatchNorm2d):
                n = mod.weight.shape[0]
                mod.weight.copy_(0.5 + torch.rand(n, generator=g))
                mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
        # Residual stacks with random weights grow activations; damp the last BN of each block.
        for name, mod in model.backbone.body.named_modules():
            if isinstance(mod, FrozenBatchNorm2d) and (name.endswith("bn3") or (name.endswith("bn2") and
                                                       not hasattr(model.backbone.body.layer1[0], "bn3"))):
                mod.weight.mul_(0.3)
        # Random regressors would throw every box far off (then clipped to the whole image and merged
        # by NMS); small ones keep proposals near their anchors, which gives many distinct detections.
        model.rpn.head.bbox_pred.weight.mul_(0.01)
        model.roi_heads.box_predictor.bbox_pred.weight.mul_(0.02)
        model.roi_heads.box_predictor.cls_score.weight.mul_(0.15)
        model.roi_heads.box_predictor.cls_score.bias[1:] += fg_bias
        # Mask logits near 0 (probabilities around the 0.5 threshold) so masks are neither all
        # empty nor all full.
        model.roi_heads.mask_predictor.mask_fcn_logits.weight.mul_(0.1)
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.zero_()
    return model


def state_dict_for_export(model):
    return {k: v.detach().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(model, cfg, out_stem, dtype="fp32", name=None, provenance=None, metrics=None, license_=None):
    sd = state_dict_for_export(model)
    if dtype == "fp16":
        sd = {k: v.half() for k, v in sd.items()}
    elif dtype == "bf16":
        sd = {k: v.bfloat16() for k, v in sd.items()}
    weights = out_stem + ".safetensors"
    os.makedirs(os.path.dirname(os.path.abspath(weights)), exist_ok=True)
    save_file(sd, weights, metadata={"format": "pt", "producer": "karyon convert_torchvision.py"})
    card = {
        "format": "karyon-maskrcnn/1",
        "name": name or os.path.basename(out_stem),
        "weights": os.path.basename(weights),
        "architecture": cfg["architecture"],
        "input": cfg["input"],
        "class_names": cfg["class_names"],
        "thresholds": cfg["thresholds"],
        "provenance": dict(provenance or {}, torch=torch.__version__, torchvision=torchvision.__version__,
                           converted=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                           weights_sha256=sha256(weights), storage_dtype=dtype),
        "metrics": metrics or {},
        "license": license_ or "unspecified",
    }
    with open(out_stem + ".json", "w") as f:
        json.dump(card, f, indent=2)
    return weights, out_stem + ".json"


def load_model_card_weights(card_path):
    """Loads a Karyon model (card + safetensors) back into torchvision (fp16/bf16 become fp32)."""
    from safetensors.torch import load_file
    with open(card_path) as f:
        card = json.load(f)
    cfg = full_config(card)
    model = build_model(cfg)
    sd = load_file(os.path.join(os.path.dirname(card_path), card["weights"]))
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model.eval(), cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--state-dict", help="torchvision state_dict (.pth/.pt) or safetensors to convert")
    src.add_argument("--random", action="store_true", help="random-initialised model (fixed --seed)")
    ap.add_argument("--config", help="JSON with architecture/thresholds/input/class_names")
    ap.add_argument("--backbone", help="override architecture.backbone")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fg-bias", type=float, default=0.0, help="random models: add to foreground class logits")
    ap.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32", help="storage dtype")
    ap.add_argument("--name")
    ap.add_argument("--license")
    ap.add_argument("--out", required=True, help="output stem (writes OUT.safetensors and OUT.json)")
    args = ap.parse_args(argv)
    cfg_in = {}
    if args.config:
        with open(args.config) as f:
            cfg_in = json.load(f)
    if args.backbone:
        cfg_in.setdefault("architecture", {})["backbone"] = args.backbone
    cfg = full_config(cfg_in)
    model = build_model(cfg)
    if args.random:
        randomise(model, args.seed, args.fg_bias)
        prov = {"source": "random init", "seed": args.seed, "fg_bias": args.fg_bias}
    else:
        if args.state_dict.endswith(".safetensors"):
            from safetensors.torch import load_file
            sd = load_file(args.state_dict)
        else:
            sd = torch.load(args.state_dict, map_location="cpu", weights_only=True)
            if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
                sd = sd["model"]
        sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            sys.exit(f"state_dict does not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        prov = {"source": os.path.abspath(args.state_dict)}
    w, c = export(model, cfg, args.out, args.dtype, args.name, prov, None, args.license)
    print(f"wrote {w} and {c}")


if __name__ == "__main__":
    main()
