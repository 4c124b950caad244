#!/usr/bin/env python3
"""Reference for karyon-bench-reader: openslide-python reading the same level-0 grid of tiles
(tile x tile, no overlap, row-major, converted to RGB) with N threads. Prints JSON."""
import argparse
import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor

import openslide

p = argparse.ArgumentParser()
p.add_argument("slide")
p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
p.add_argument("--tile-size", type=int, default=512)
p.add_argument("--max-tiles", type=int, default=0)
a = p.parse_args()

slide = openslide.OpenSlide(a.slide)
w, h = slide.dimensions
t = a.tile_size
tiles = [(x, y) for y in range(0, h, t) for x in range(0, w, t)]
if a.max_tiles:
    tiles = tiles[: a.max_tiles]


def read(xy):
    img = slide.read_region(xy, 0, (t, t)).convert("RGB")
    return img.getpixel((t // 2, t // 2))[0]


out = {"slide": a.slide, "tiles": len(tiles), "tile_size": t, "runs": []}
for n in a.threads:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        checksum = sum(pool.map(read, tiles))
    s = time.perf_counter() - t0
    out["runs"].append({"threads": n, "seconds": s, "tiles_per_s": len(tiles) / s, "checksum": checksum})
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
