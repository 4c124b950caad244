#!/usr/bin/env python3
"""Side-by-side crop of two analyses' outlines over the slide's level-0 pixels (e.g. before/after a change):
  outline_crop.py --slide S --x X --y Y --size N --zoom Z --left A/nuclei.geojson --right B/nuclei.geojson --out F.png
        [--labels "before,after"]"""
import argparse
import json

import openslide
from PIL import Image, ImageDraw


def rings(geojson):
    with open(geojson) as f:
        for feat in json.load(f)["features"]:
            g = feat["geometry"]
            yield from (g["coordinates"] if g["type"] == "Polygon" else g["coordinates"][0])


def panel(img, geojson, x, y, size, zoom, colour, label):
    im = img.resize((size * zoom, size * zoom), Image.NEAREST)
    d = ImageDraw.Draw(im)
    for r in rings(geojson):
        pts = [((px - x) * zoom, (py - y) * zoom) for px, py in r]
        if all(-zoom <= a <= size * zoom + zoom and -zoom <= b <= size * zoom + zoom for a, b in pts):
            d.line(pts, fill=colour, width=2)
    d.rectangle([0, 0, 8 * len(label) + 10, 18], fill=(255, 255, 255))
    d.text((5, 3), label, fill=(0, 0, 0))
    return im


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ("--slide", "--left", "--right", "--out"):
        ap.add_argument(k, required=True)
    ap.add_argument("--x", type=int, required=True)
    ap.add_argument("--y", type=int, required=True)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--zoom", type=int, default=3)
    ap.add_argument("--labels", default="before,after")
    a = ap.parse_args()
    try:
        img = openslide.OpenSlide(a.slide).read_region((a.x, a.y), 0, (a.size, a.size)).convert("RGB")
    except openslide.OpenSlideUnsupportedFormatError:  # a plain image
        img = Image.open(a.slide).convert("RGB").crop((a.x, a.y, a.x + a.size, a.y + a.size))
    left_label, right_label = a.labels.split(",")
    left = panel(img, a.left, a.x, a.y, a.size, a.zoom, (230, 30, 30), left_label)
    right = panel(img, a.right, a.x, a.y, a.size, a.zoom, (20, 200, 60), right_label)
    out = Image.new("RGB", (left.width * 2 + 6, left.height), (255, 255, 255))
    out.paste(left, (0, 0))
    out.paste(right, (left.width + 6, 0))
    out.save(a.out, optimize=True)


if __name__ == "__main__":
    main()
