"""Classical nucleus segmentation baseline (numpy + scipy.ndimage only), in the spirit of QuPath's cell detection:
colour deconvolution (Ruifrok & Johnston H&E) -> haematoxylin optical density -> background removed by a grey
opening (white top-hat, radius bg_um) -> Gaussian smoothing -> threshold at thresh_scale x Otsu -> opening + hole
filling -> markers at local maxima of the smoothed haematoxylin (nuclei are darkest inside, lighter where two
touch) at least peak_distance_um apart -> marker watershed (scipy.ndimage.watershed_ift) on the inverted
haematoxylin, inside the foreground -> objects smaller than min_area_um2 removed.

Parameters are in µm so that the same call works at any µm/px. Their defaults were chosen by a grid search on the
24 MoNuSeg *training* images (never the validation ones) at 0.5 µm/px: `python tools/train/classical.py --tune`
(AJI 0.348 there; 0.30-0.35 over thresh_scale 0.9-1.3, sigma 0.35-1 µm, peak distance 1-2.5 µm). Markers from the
distance transform instead of the haematoxylin (the first version) scored AJI 0.22 there."""
import argparse
import itertools
import json
import sys

import numpy as np
from scipy import ndimage as ndi

from data import rgb_to_hed

DEFAULTS = dict(bg_um=8.0, sigma_um=0.5, thresh_scale=0.9, peak_distance_um=1.5, min_area_um2=8.0, open_um=1.0)


def otsu(values, bins=256):
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return centres[int(np.argmax(between[:-1]))]


def _disk(r):
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return xx ** 2 + yy ** 2 <= r * r


def segment(img, mpp, bg_um=DEFAULTS["bg_um"], sigma_um=DEFAULTS["sigma_um"], thresh_scale=DEFAULTS["thresh_scale"],
            peak_distance_um=DEFAULTS["peak_distance_um"], min_area_um2=DEFAULTS["min_area_um2"],
            open_um=DEFAULTS["open_um"]):
    h = rgb_to_hed(img)[:, 0].reshape(img.shape[:2])
    h = h - ndi.grey_opening(h, footprint=_disk(max(1, int(round(bg_um / mpp)))))
    h = ndi.gaussian_filter(h, sigma_um / mpp)
    fg = h > otsu(h) * thresh_scale
    fg = ndi.binary_opening(fg, structure=_disk(max(1, int(round(open_um / mpp)))))
    fg = ndi.binary_fill_holes(fg)
    d = max(1, int(round(peak_distance_um / mpp)))
    peaks = (h == ndi.maximum_filter(h, size=2 * d + 1)) & fg
    markers, _ = ndi.label(peaks)
    # watershed_ift floods from the markers along minimax-cost paths (uint8 cost, 0 = darkest haematoxylin);
    # background gets the highest cost so basins do not leak around each other, and is zeroed afterwards.
    cost = h.max() - h
    cost = np.round(cost / max(cost.max(), 1e-6) * 254).astype(np.uint8)
    cost[~fg] = 255
    lab = ndi.watershed_ift(cost, markers.astype(np.int32)).astype(np.int32)
    lab[~fg] = 0
    areas = np.bincount(lab.ravel())
    small = areas < min_area_um2 / (mpp * mpp)
    small[0] = False
    lab[small[lab]] = 0
    return lab


def tune(mpp, grid):
    """Grid search on the MoNuSeg training split; prints one line per setting, best AJI last."""
    import data
    import metrics
    samples = data.load_monuseg("train", mpp)
    best = None
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid.keys(), values))
        rows = [metrics.instance_metrics(s.native_lab, metrics.upsample(segment(s.img, mpp, **kw), s.native_lab.shape))
                for s in samples]
        m = metrics.summarize(rows)
        print(json.dumps(kw), f"AJI {m['aji']:.3f} PQ {m['pq']:.3f} F1@0.5 {m['f1@0.5']:.3f} Dice {m['dice']:.3f}",
              flush=True)
        if best is None or m["aji"] > best[1]["aji"]:
            best = (kw, m)
    print("best on the training images:", json.dumps(best[0]), f"AJI {best[1]['aji']:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true", help="grid-search the parameters on the MoNuSeg training split")
    ap.add_argument("--mpp", type=float, default=0.5)
    ap.add_argument("--grid", default=json.dumps({"thresh_scale": [0.9, 1.0, 1.15], "sigma_um": [0.35, 0.5, 0.75],
                                                  "peak_distance_um": [1.0, 1.5, 2.5]}),
                    help="JSON: parameter -> list of values (others keep their defaults)")
    args = ap.parse_args()
    if not args.tune:
        sys.exit("nothing to do: pass --tune (segment() is used by evaluate.py --classical)")
    tune(args.mpp, json.loads(args.grid))
