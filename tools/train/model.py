"""Mask R-CNN built exactly as Karyon's C++ engine expects (torchvision names; see
inference/include/karyon/inference/model_card.hpp), but trainable:

- fpn_out_channels may differ from 256 (tools/model/convert_torchvision.build_model only builds 256, so the
  backbone is assembled here with torchvision's BackboneWithFPN; tensor names are unchanged);
- the ResNet uses ordinary BatchNorm2d while training (no ImageNet weights are available offline, and a
  from-scratch ResNet does not train with frozen identity BN). BatchNorm2d in eval mode computes exactly what
  FrozenBatchNorm2d computes from the same four buffers (weight, bias, running_mean, running_var, eps 1e-5), so
  the state_dict exports unchanged and the C++ engine's frozen BN reproduces it;
- no resize (min_size = max_size = 0): crops are already at the model's µm/px.
Export reuses tools/model/convert_torchvision.export (safetensors + JSON card).
"""
import os
import sys

import torch
from torch import nn
from torchvision.models import resnet
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
import convert_torchvision as ct  # noqa: E402

# Nuclei at 0.5 µm/px are ~8-30 px wide: anchors 8..128 on the five FPN levels (strides 4..64).
SMALL_ARCH = {
    "backbone": "resnet18",
    "num_classes": 2,
    "fpn_out_channels": 64,
    "representation_size": 256,
    "mask_layers": [64, 64],
    "mask_dim_reduced": 64,
    "anchor_sizes": [[8], [16], [32], [64], [128]],
    "aspect_ratios": [[0.5, 1.0, 2.0]] * 5,
    "rpn_pre_nms_top_n": 2000,
    "rpn_post_nms_top_n": 1000,
    "rpn_nms_thresh": 0.7,
    "rpn_score_thresh": 0.0,
    "min_size": 0,
    "max_size": 0,
    "size_divisible": 32,
}
THRESHOLDS = {"box_score": 0.5, "box_nms": 0.3, "detections_per_img": 1000, "mask": 0.5}


def make_config(arch=None, mpp=0.5, thresholds=None, image_mean=None, image_std=None):
    a = dict(SMALL_ARCH)
    a.update(arch or {})
    inp = {"mpp": mpp}
    if image_mean:
        inp["image_mean"], inp["image_std"] = image_mean, image_std
    return ct.full_config({"architecture": a, "thresholds": dict(THRESHOLDS, **(thresholds or {})), "input": inp})


def build(cfg, train=True, **train_kw):
    """train=True: BatchNorm2d backbone (trainable); False: FrozenBatchNorm2d, as the C++ engine."""
    a, t, inp = cfg["architecture"], cfg["thresholds"], cfg["input"]
    norm = nn.BatchNorm2d if train else FrozenBatchNorm2d
    body = getattr(resnet, a["backbone"])(weights=None, norm_layer=norm)
    in_ch = [body.inplanes // 8, body.inplanes // 4, body.inplanes // 2, body.inplanes]
    C = a["fpn_out_channels"]
    backbone = BackboneWithFPN(body, {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}, in_ch, C,
                               extra_blocks=LastLevelMaxPool())
    R = a["representation_size"]
    model = MaskRCNN(
        backbone, num_classes=None, min_size=800, max_size=1333,
        image_mean=inp["image_mean"], image_std=inp["image_std"],
        rpn_anchor_generator=AnchorGenerator(tuple(tuple(s) for s in a["anchor_sizes"]),
                                             tuple(tuple(r) for r in a["aspect_ratios"])),
        rpn_pre_nms_top_n_test=a["rpn_pre_nms_top_n"], rpn_post_nms_top_n_test=a["rpn_post_nms_top_n"],
        rpn_pre_nms_top_n_train=train_kw.get("rpn_pre_nms_top_n_train", 2000),
        rpn_post_nms_top_n_train=train_kw.get("rpn_post_nms_top_n_train", 1000),
        rpn_nms_thresh=a["rpn_nms_thresh"], rpn_score_thresh=a["rpn_score_thresh"],
        box_head=TwoMLPHead(C * 7 * 7, R), box_predictor=FastRCNNPredictor(R, a["num_classes"]),
        box_score_thresh=t["box_score"], box_nms_thresh=t["box_nms"],
        box_detections_per_img=t["detections_per_img"],
        box_batch_size_per_image=train_kw.get("box_batch_size_per_image", 256),
        mask_head=MaskRCNNHeads(C, a["mask_layers"], 1),
        mask_predictor=MaskRCNNPredictor(a["mask_layers"][-1], a["mask_dim_reduced"], a["num_classes"]),
    )
    model.transform.size_divisible = a["size_divisible"]
    model.transform.resize = lambda image, target=None: (image, target)
    return model


def export_state_dict(model):
    return ct.state_dict_for_export(model)


def to_inference(model, cfg):
    """A FrozenBatchNorm2d copy of a trained model (what the C++ engine computes), eval mode."""
    m = build(cfg, train=False)
    m.load_state_dict(export_state_dict(model), strict=True)
    m.karyon_cfg = cfg  # for set_top_n_for
    return m.eval()


def export(model, cfg, out_stem, dtype="fp16", **kw):
    return ct.export(to_inference(model, cfg), cfg, out_stem, dtype, **kw)


def load_card(card_path):
    """Karyon card + safetensors -> eval-mode torchvision model (FrozenBN) and config."""
    import json
    from safetensors.torch import load_file
    with open(card_path) as f:
        card = json.load(f)
    cfg = ct.full_config(card)
    m = build(cfg, train=False)
    sd = load_file(os.path.join(os.path.dirname(os.path.abspath(card_path)), card["weights"]))
    m.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    m.karyon_cfg = cfg  # for set_top_n_for
    return m.eval(), cfg


def content_pixels(img_uint8):
    """Pixels that are not glass-white (any channel below 210), as the C++ engine counts them (model_card.hpp)."""
    import numpy as np
    return int((np.asarray(img_uint8)[..., :3] < 210).any(-1).sum())


def set_top_n_for(net, cfg, img_uint8):
    """With architecture.top_n_reference_area > 0 the card's top-n counts are per that many content pixels: set the
    torchvision model's counts for this image exactly as the C++ engine computes them (ArchitectureConfig::top_n_for)."""
    import math
    a, t = cfg["architecture"], cfg["thresholds"]
    ref = a.get("top_n_reference_area", 0) or 0
    if ref <= 0:
        return
    area = max(content_pixels(img_uint8), 64 * 64)
    scaled = lambda n: int(min(max(math.floor(n * area / ref + 0.5), 1), 1e9))  # noqa: E731
    net.rpn._pre_nms_top_n["testing"] = scaled(a["rpn_pre_nms_top_n"])
    net.rpn._post_nms_top_n["testing"] = scaled(a["rpn_post_nms_top_n"])
    net.roi_heads.detections_per_img = scaled(t["detections_per_img"])
