#!/usr/bin/env python3
"""Is the result independent of how the slide is tiled? `karyon-cli analyze` of one slide (or region) with several
tile sizes and overlaps, each compared with the default run by `karyon-cli evaluate` (a nucleus matches when its
IoU with one of the other run's is > 0.5), plus the pairs of nuclei within one run that overlap by more than 20 % of
the smaller one.

  invariance.py --cli build/app/karyon-cli --slide S.svs [--region x,y,w,h] [--mpp M] [--model CARD] --out DIR
                [--settings 512/48,256/48,1024/48,512/128] [--json F]

The first setting is the reference. Prints a table; exits 0 (the criteria are the caller's: see
tests/pipeline/tiling_invariance_test.py)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np


def analyze(cli, slide, out, tile, overlap, extra):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [cli, "analyze", slide, "-o", out, "--tile-size", str(tile), "--overlap", str(overlap)] + extra
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return os.path.join(out, "nuclei.geojson")


def compare(cli, predicted, reference):
    r = json.loads(subprocess.run([cli, "evaluate", predicted, reference, "--json"], check=True,
                                  capture_output=True, text=True).stdout)
    matched = round(r["recall"] * r["truth"])
    return {"nuclei": r["predicted"], "reference": r["truth"], "matched": matched,
            "matched_of_reference": matched / max(1, r["truth"]), "matched_of_run": matched / max(1, r["predicted"])}


def polygons(geojson):
    with open(geojson) as f:
        fc = json.load(f)
    out = []
    for feat in fc["features"]:
        g = feat["geometry"]
        rings = g["coordinates"] if g["type"] == "Polygon" else g["coordinates"][0]
        out.append([np.asarray(r, np.float64) for r in rings])  # outer ring, then holes
    return out


def rasterise(ring):
    """Pixels whose centres lie inside the ring (even-odd rule): what a half-open scanline fill gives, so two
    nuclei that only share an edge share no pixel. Returns (x0, y0, mask)."""
    x0, y0 = np.floor(ring.min(0)).astype(int)
    x1, y1 = np.ceil(ring.max(0)).astype(int)
    xs = np.arange(x0, max(x1, x0 + 1)) + 0.5
    ys = np.arange(y0, max(y1, y0 + 1)) + 0.5
    px, py = np.meshgrid(xs, ys)
    inside = np.zeros(px.shape, bool)
    a, b = ring, np.roll(ring, -1, axis=0)
    for (ax, ay), (bx, by) in zip(a, b):
        if ay == by:
            continue
        crosses = (ay > py) != (by > py)
        xi = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < xi)
    return x0, y0, inside


def overlapping_pairs(polys, fraction=0.2):
    """Pairs (i, j) whose rasterised outlines share more than `fraction` of the smaller one's pixels."""
    rasters = []
    for rings in polys:
        x0, y0, m = rasterise(rings[0])
        for hole in rings[1:]:
            hx, hy, hm = rasterise(hole)
            m[hy - y0:hy - y0 + hm.shape[0], hx - x0:hx - x0 + hm.shape[1]] &= ~hm
        rasters.append((x0, y0, m, max(1, int(m.sum()))))
    cell = 64
    grid = {}
    for i, (x0, y0, m, _) in enumerate(rasters):
        for gx in range(x0 // cell, (x0 + m.shape[1]) // cell + 1):
            for gy in range(y0 // cell, (y0 + m.shape[0]) // cell + 1):
                grid.setdefault((gx, gy), []).append(i)
    seen, pairs = set(), []
    for members in grid.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                i, j = members[a], members[b]
                if (i, j) in seen:
                    continue
                seen.add((i, j))
                ax, ay, am, aa = rasters[i]
                bx, by, bm, ba = rasters[j]
                x0, y0 = max(ax, bx), max(ay, by)
                x1, y1 = min(ax + am.shape[1], bx + bm.shape[1]), min(ay + am.shape[0], by + bm.shape[0])
                if x1 <= x0 or y1 <= y0:
                    continue
                inter = np.logical_and(am[y0 - ay:y1 - ay, x0 - ax:x1 - ax], bm[y0 - by:y1 - by, x0 - bx:x1 - bx]).sum()
                if inter > fraction * min(aa, ba):
                    pairs.append((i, j))
    return pairs


def _cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def self_intersects(ring):
    """True when two non-adjacent edges of the closed ring cross or touch (a polygon GeoJSON/QuPath would call
    invalid)."""
    pts = ring[:-1] if len(ring) > 1 and np.array_equal(ring[0], ring[-1]) else ring
    n = len(pts)
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            c, d = pts[j], pts[(j + 1) % n]
            if max(a[0], b[0]) < min(c[0], d[0]) or max(c[0], d[0]) < min(a[0], b[0]) or \
                    max(a[1], b[1]) < min(c[1], d[1]) or max(c[1], d[1]) < min(a[1], b[1]):
                continue
            d1, d2, d3, d4 = _cross(c, d, a), _cross(c, d, b), _cross(a, b, c), _cross(a, b, d)
            if ((d1 > 0) != (d2 > 0) or d1 == 0 or d2 == 0) and ((d3 > 0) != (d4 > 0) or d3 == 0 or d4 == 0):
                return True
    return False


def outline_stats(polys):
    """Invalid (self-intersecting) outer rings and vertices per outline."""
    verts = [len(p[0]) - 1 for p in polys]
    return {"invalid_outlines": sum(self_intersects(p[0]) for p in polys),
            "vertices_mean": float(np.mean(verts)) if verts else 0.0}


def measure(cli, slide, out_dir, settings, extra):
    rows = []
    ref = None
    for tile, overlap in settings:
        run_dir = os.path.join(out_dir, f"t{tile}_o{overlap}")
        gj = analyze(cli, slide, run_dir, tile, overlap, extra)
        with open(os.path.join(run_dir, "summary.json")) as f:
            used = json.load(f)["settings"]  # the card's min_tile_size may raise the tile; the grid rounds the overlap
        polys = polygons(gj)
        row = {"tile_size": tile, "overlap": overlap, "tile_size_used": used["tile_size"], "overlap_used": used["overlap"],
               "overlapping_pairs": len(overlapping_pairs(polys)), **outline_stats(polys)}
        if ref is None:
            ref = gj
            n = len(polygons(gj))
            row.update(nuclei=n, reference=n, matched=n, matched_of_reference=1.0, matched_of_run=1.0)
        else:
            row.update(compare(cli, gj, ref))
        row["count_change"] = row["nuclei"] / max(1, row["reference"]) - 1
        rows.append(row)
        print(f"tile {tile:5d} overlap {overlap:4d} (used {used['tile_size']}/{used['overlap']}): {row['nuclei']:6d} nuclei ({100 * row['count_change']:+.1f} %), "
              f"matched {100 * row['matched_of_reference']:.1f} % of the reference / {100 * row['matched_of_run']:.1f} % "
              f"of this run, {row['overlapping_pairs']} overlapping pairs, {row['invalid_outlines']} invalid outlines, "
              f"{row['vertices_mean']:.1f} vertices per outline", flush=True)
    return rows


def parse_settings(text):
    return [tuple(int(v) for v in s.split("/")) for s in text.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--slide", required=True)
    ap.add_argument("--region")
    ap.add_argument("--mpp")
    ap.add_argument("--model")
    ap.add_argument("--flips", help="analyze --flips (test-time flips) for every run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--settings", default="512/48,256/48,1024/48,512/96,512/128")
    ap.add_argument("--json")
    args = ap.parse_args()
    extra = (["--region", args.region] if args.region else []) + (["--mpp", args.mpp] if args.mpp else []) + \
        (["--model", args.model] if args.model else []) + (["--flips", args.flips] if args.flips else [])
    rows = measure(args.cli, args.slide, args.out, parse_settings(args.settings), extra)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"slide": args.slide, "region": args.region, "model": args.model or "default", "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    sys.exit(main())
