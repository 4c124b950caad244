#!/usr/bin/env python3
"""Train a Karyon Mask R-CNN (torchvision names, exportable to the C++ engine) on nucleus crops.

  # synthetic test model (Karyon synthetic slides, generated on first use)
  train.py --data synthetic --out out/train/synth-r18 --max-minutes 20
  # real model: MoNuSeg train split (+ DSB H&E crops, rescaled by nucleus size), validation images held out
  train.py --data monuseg+dsb --out out/train/real-r18 --max-minutes 600

Resumable: `kill PID` (SIGTERM) saves OUT/last.pt after the current step and exits; OUT/last.pt is written every --ckpt-minutes (atomically) and at the end; rerunning the same command
resumes from it (the learning rate is --lr of the new command:
restart with a lower --lr to decay it). Logs one JSON line per step to OUT/log.jsonl (losses, lr, seconds) and a summary to stdout.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402

CLI_CANDIDATES = ["build-inf/app/karyon-cli", "build-dev/app/karyon-cli"]


def find_cli(root):
    for c in CLI_CANDIDATES:
        p = os.path.join(root, c)
        if os.path.exists(p):
            return p
    sys.exit("karyon-cli not found (build it: cmake --build build-inf --target karyon-cli)")


def synthetic_samples(root, mpp, seeds, size=4096, synth_dir=None):
    d = synth_dir or os.path.join(root, "out", "train", "synth")
    os.makedirs(d, exist_ok=True)
    cli = find_cli(root)
    out = []
    for s in seeds:
        p = data.synth_slide(os.path.join(d, f"synth_{size}_s{s}.tiff"), size, size, s, cli)
        out.append(data.load_synthetic(p, mpp))
    return out


def build_samples(args, root):
    if args.data == "synthetic":
        return synthetic_samples(root, args.mpp, range(1, 1 + args.synth_slides)), None
    tr = data.load_monuseg("train", args.mpp)
    weights = [s.img.shape[0] * s.img.shape[1] for s in tr]
    # Crop shares by source, whatever their pixel counts: MoNuSeg takes what the others leave.
    shares = {"dsb": 0.15, "consep": 0.35}
    tot_m = sum(weights)
    rest = 1.0 - sum(v for k, v in shares.items() if k in args.data)
    extra = []
    if "dsb" in args.data:
        ref = data.median_area(tr)
        dsb = [s for s in data.load_dsb(ref) if 0.34 < s.scale < 1.99]  # drop images whose scale was clamped
        print(f"DSB: {len(dsb)} images kept (scale by nucleus size, not clamped)", flush=True)
        extra.append((dsb, shares["dsb"]))
    if "consep" in args.data:
        consep = data.load_consep_mosaics("train", args.mpp)
        print(f"CoNSeP train: {len(consep)} mosaics of 4 patches", flush=True)
        extra.append((consep, shares["consep"]))
    for group, share in extra:
        tot = sum(s.img.shape[0] * s.img.shape[1] for s in group)
        weights += [s.img.shape[0] * s.img.shape[1] * (share / rest) * tot_m / tot for s in group]
        tr += group
    return tr, weights


def init_from_card(net, card_path):
    """Start from a shipped card's weights (fp16 safetensors, frozen-BN buffers = BatchNorm2d's running stats):
    how training continues across sessions when only resources/models/ was committed."""
    from safetensors.torch import load_file
    with open(card_path) as f:
        card = json.load(f)
    sd = load_file(os.path.join(os.path.dirname(os.path.abspath(card_path)), card["weights"]))
    missing, unexpected = net.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{card_path}: weights do not fit --arch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return card


def collate(batch):
    return tuple(zip(*batch))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="synthetic", choices=["synthetic", "monuseg", "monuseg+dsb", "monuseg+dsb+consep"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mpp", type=float, default=0.5, help="analysis µm/px")
    ap.add_argument("--arch", default="{}", help="JSON overrides of tools/train/model.SMALL_ARCH")
    ap.add_argument("--thresholds", default="{}", help="JSON overrides of model.THRESHOLDS (written to the card)")
    ap.add_argument("--crop", type=lambda v: [int(x) for x in v.split(",")], default=[256],
                    help="crop size in px, or a comma-separated list to draw from per crop (e.g. 256,384,512)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--cosine-to", type=float, default=None, metavar="LR_MIN",
                    help="decay the lr from --lr to LR_MIN along a cosine over this run's --max-minutes "
                         "(a schedule for fixed wall-clock budgets, e.g. a shared CPU; step counts vary with load)")
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--max-minutes", type=float, default=20.0, help="wall-clock budget of this run")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--snapshot-every", type=int, default=1000, help="also keep OUT/step_N.pt every N steps")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synth-slides", type=int, default=6)
    ap.add_argument("--loss-weights", default="{}",
                    help='JSON weights of the loss terms, e.g. {"loss_mask": 2.0} (unnamed terms weigh 1)')
    ap.add_argument("--init-card", help="start from this exported card's weights (when OUT has no last.pt)")
    args = ap.parse_args(argv)

    loss_weights = json.loads(args.loss_weights)
    known = {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}
    if not isinstance(loss_weights, dict) or set(loss_weights) - known:
        sys.exit(f"--loss-weights: a JSON object with keys among {sorted(known)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "last.pt")

    cfg = M.make_config(json.loads(args.arch), mpp=args.mpp, thresholds=json.loads(args.thresholds))
    net = M.build(cfg, train=True, box_batch_size_per_image=256).to(args.device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    step = 0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=args.device, weights_only=True)  # data only: a checkpoint never runs code
        if ck["cfg"]["architecture"] != cfg["architecture"]:
            sys.exit(f"{ckpt_path}: architecture differs from --arch; use another --out")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        print(f"resumed {ckpt_path} at step {step}", flush=True)
    elif args.init_card:
        card = init_from_card(net, args.init_card)
        step = int(card.get("provenance", {}).get("train_steps", 0) or 0)
        print(f"initialised from {args.init_card} (step {step})", flush=True)

    t0 = time.time()
    samples, weights = build_samples(args, root)
    print(f"data: {len(samples)} images at {args.mpp} µm/px, "
          f"{sum(int(s.lab.max()) for s in samples)} nuclei, loaded in {time.time() - t0:.0f}s", flush=True)
    ds = data.CropDataset(samples, crop=args.crop, seed=args.seed * 100003 + step, weights=weights)
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, collate_fn=collate, num_workers=args.workers)

    def save(path):
        tmp = path + ".tmp"
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step, "cfg": cfg,
                    "args": vars(args), "time": time.time()}, tmp)
        os.replace(tmp, path)

    stop = {"flag": False}

    def on_term(signum, frame):  # kill PID: finish the current step, save last.pt, exit
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    start = last_ckpt = time.time()
    ema = None
    net.train()
    for imgs, tgts in dl:
        if stop["flag"] or step >= args.max_steps or (time.time() - start) / 60 >= args.max_minutes:
            break
        ts = time.time()
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        if args.cosine_to is not None:
            done = min(1.0, (time.time() - start) / 60 / args.max_minutes)
            lr = args.cosine_to + (lr - args.cosine_to) * 0.5 * (1 + math.cos(math.pi * done))
        for g in opt.param_groups:
            g["lr"] = lr
        imgs = [i.to(args.device) for i in imgs]
        tgts = [{k: v.to(args.device) for k, v in t.items()} for t in tgts]
        losses = net(imgs, tgts)
        loss = sum(loss_weights.get(k, 1.0) * v for k, v in losses.items())
        if not torch.isfinite(loss):
            print(f"step {step}: non-finite loss {losses}; skipped", flush=True)
            opt.zero_grad()
            continue
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        rec = {"step": step, "loss": round(loss.item(), 4), "lr": lr, "sec": round(time.time() - ts, 3),
               **{k: round(v.item(), 4) for k, v in losses.items()}}
        log.write(json.dumps(rec) + "\n")
        log.flush()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 20 == 0:
            print(f"step {step} loss {loss.item():.3f} (ema {ema:.3f}) " +
                  " ".join(f"{k[5:]}={v.item():.3f}" for k, v in losses.items()) +
                  f" {rec['sec']:.2f}s/step", flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save(ckpt_path)
            last_ckpt = time.time()
        if args.snapshot_every and step % args.snapshot_every == 0:
            save(os.path.join(args.out, f"step_{step}.pt"))
    save(ckpt_path)
    print(f"saved {ckpt_path} at step {step} ({(time.time() - start) / 60:.1f} min this run)", flush=True)


if __name__ == "__main__":
    main()
