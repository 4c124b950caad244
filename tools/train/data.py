"""Datasets at a fixed analysis µm/px, the fixed image-level split, crop sampling and augmentation.

Every source is loaded once into memory as (image, instance labels) resampled to the analysis µm/px
(image: box filter down / bilinear up; labels: nearest), plus the native-resolution labels kept for evaluation.
"""
import glob
import json
import math
import os
import subprocess

import numpy as np
import torch
from PIL import Image, ImageFilter

import readers

DATA = os.environ.get("KARYON_DATA", "/work/shared/data")
MONUSEG = os.path.join(DATA, "monuseg2018")
DSB = os.path.join(DATA, "dsb2018_bbbc038_he_subset")
CONSEP = os.path.join(DATA, "consep_hovernet_patches")
CONSEP_MPP = 0.25  # 40x (SOURCE.txt)

# Fixed validation split BY IMAGE (never used for training): 6 of the 30 MoNuSeg training images, 3 from each
# annotation source, 6 different TCGA tissue-source sites / organs (lung, breast, kidney, prostate, bladder,
# stomach per the MoNuSeg organ table).
MONUSEG_VAL = [
    "TCGA-21-5786-01Z-00-DX1",  # lung (XML)
    "TCGA-AR-A1AS-01Z-00-DX1",  # breast (XML)
    "TCGA-B0-5710-01Z-00-DX1",  # kidney (XML)
    "TCGA-G9-6363-01Z-00-DX1",  # prostate (label map)
    "TCGA-DK-A2I6-01A-01-TS1",  # bladder (label map)
    "TCGA-RD-A8N9-01A-01-TS1",  # stomach (label map)
]


class Sample:
    def __init__(self, name, img, lab, native_lab=None, src_mpp=None, scale=1.0):
        self.name, self.img, self.lab = name, img, lab
        self.native_lab = native_lab if native_lab is not None else lab
        self.src_mpp, self.scale = src_mpp, scale  # scale = analysis px per native px


def resample(img, lab, scale):
    if abs(scale - 1.0) < 1e-6:
        return img, lab
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    im = Image.fromarray(img).resize(size, Image.BOX if scale < 1 else Image.BILINEAR)
    lb = Image.fromarray(lab.astype(np.int32)).resize(size, Image.NEAREST)
    return np.asarray(im).copy(), np.asarray(lb).astype(np.int32)


def monuseg_items():
    items = []
    for p in sorted(glob.glob(os.path.join(MONUSEG, "train", "images", "*.tif"))):
        n = os.path.splitext(os.path.basename(p))[0]
        items.append((n, "xml", p, os.path.join(MONUSEG, "train", "annotations", n + ".xml")))
    for p in sorted(glob.glob(os.path.join(MONUSEG, "train_extra", "images", "*.tif"))):
        n = os.path.splitext(os.path.basename(p))[0]
        items.append((n, "labels", p, os.path.join(MONUSEG, "train_extra", "labels", n + ".png")))
    return items


def load_monuseg(split, mpp):
    """split: 'train' (24 images) or 'val' (the 6 in MONUSEG_VAL)."""
    out = []
    for n, kind, ip, ap in monuseg_items():
        if (n in MONUSEG_VAL) != (split == "val"):
            continue
        if kind == "xml":
            img, lab, src = readers.load_monuseg_xml(ip, ap, default_mpp=0.25)
        else:
            img, lab, src = readers.load_label_map(ip, ap, mpp=0.25)  # 40x, ~0.25 µm/px (SOURCE.txt)
        s = src / mpp
        im2, lb2 = resample(img, lab, s)
        out.append(Sample(n, im2, lb2, native_lab=lab, src_mpp=src, scale=s))
    return out


def median_area(samples):
    areas = []
    for s in samples:
        a = np.bincount(s.lab.ravel())[1:]
        areas.extend(a[a > 0].tolist())
    return float(np.median(areas))


def load_dsb(reference_area, max_images=None):
    """DSB 2018 H&E crops have no recorded magnification. Each image is rescaled so that its median nucleus
    area matches `reference_area` (the median MoNuSeg training nucleus area at the analysis µm/px), with the
    scale clamped to [0.33, 2]: a per-image magnification normalisation by nucleus size (approximate; nuclei
    sizes differ by organ, so this can be off by ~±30%, which the ±15% scale jitter partly covers)."""
    out = []
    ids = sorted(os.listdir(os.path.join(DSB, "stage1_train")))[:max_images]
    for i in ids:
        d = os.path.join(DSB, "stage1_train", i)
        img, lab, _ = readers.load_png_masks(os.path.join(d, "images", i + ".png"), os.path.join(d, "masks"))
        a = np.bincount(lab.ravel())[1:]
        a = a[a > 0]
        if len(a) < 3:
            continue
        s = float(np.clip(math.sqrt(reference_area / np.median(a)), 0.33, 2.0))
        im2, lb2 = resample(img, lab, s)
        out.append(Sample("dsb/" + i[:12], im2, lb2, native_lab=lab, scale=s))
    return out


def consep_patches(split):
    """CoNSeP's 256² patches of one split (train: training; test: external validation), sorted by name."""
    out = []
    for p in sorted(glob.glob(os.path.join(CONSEP, split, "images", "*.jpg"))):
        n = os.path.splitext(os.path.basename(p))[0]
        out.append((n, p, os.path.join(CONSEP, split, "labels", n + ".png")))
    return out


def load_consep_eval(split, mpp, every=4):
    """Every `every`-th CoNSeP patch of a split as its own sample (the product_eval.py consep-test set):
    image at the analysis µm/px, native 0.25 µm/px labels for scoring."""
    out = []
    for n, ip, lp in consep_patches(split)[::every]:
        img = np.asarray(Image.open(ip).convert("RGB"))
        lab = np.asarray(Image.open(lp)).astype(np.int32)
        s = CONSEP_MPP / mpp
        im2, lb2 = resample(img, lab, s)
        out.append(Sample(n, im2, lb2, native_lab=lab, src_mpp=CONSEP_MPP, scale=s))
    return out


def load_consep_mosaics(split, mpp, seed=0):
    """CoNSeP patches at the analysis µm/px (256² at 0.25 µm/px -> 128² at 0.5), four at a time in a 2x2 mosaic
    so that a training crop is mostly tissue rather than padding. The patches' positions in their 1000² source
    tiles are not recorded (they overlap by 24 px in an irregular layout), so the mosaics are of random patches;
    nuclei cut by a patch edge stay cut, as in the source. Instance ids are renumbered per mosaic."""
    items = consep_patches(split)
    order = np.random.default_rng(seed).permutation(len(items))
    out = []
    for g in range(0, len(order) - 3, 4):
        tiles = []
        for k in order[g:g + 4]:
            n, ip, lp = items[k]
            img = np.asarray(Image.open(ip).convert("RGB"))
            lab = np.asarray(Image.open(lp)).astype(np.int32)
            tiles.append(resample(img, lab, CONSEP_MPP / mpp))
        h, w = tiles[0][1].shape
        img = np.zeros((2 * h, 2 * w, 3), np.uint8)
        lab = np.zeros((2 * h, 2 * w), np.int32)
        nxt = 0
        for q, (im, lb) in enumerate(tiles):
            y, x = (q // 2) * h, (q % 2) * w
            img[y:y + h, x:x + w] = im[:h, :w]
            ids = np.unique(lb[:h, :w])
            ids = ids[ids > 0]
            remap = np.zeros(int(lb.max()) + 1, np.int32)
            remap[ids] = np.arange(nxt + 1, nxt + 1 + len(ids))
            nxt += len(ids)
            lab[y:y + h, x:x + w] = remap[lb[:h, :w]]
        out.append(Sample(f"consep/{split}/mosaic{g // 4}", img, lab, src_mpp=CONSEP_MPP))
    return out


def synth_slide(path, width, height, seed, cli):
    if not os.path.exists(path):
        subprocess.run([cli, "synth", path, "--width", str(width), "--height", str(height), "--mpp", "0.25",
                        "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def load_synthetic(tiff_path, mpp):
    """Karyon synthetic slide (pyramidal TIFF, 0.25 µm/px at level 0) + its .truth.geojson -> Sample at mpp."""
    import openslide
    sl = openslide.OpenSlide(tiff_path)
    w, h = sl.dimensions
    img = np.asarray(sl.read_region((0, 0), 0, (w, h)).convert("RGB")).copy()
    sl.close()
    polys = readers.read_geojson_polygons(tiff_path[: -len(".tiff")] + ".truth.geojson")
    s = 0.25 / mpp
    im2 = np.asarray(Image.fromarray(img).resize((round(w * s), round(h * s)), Image.BOX)).copy()
    lb2 = readers.rasterize_polygons(polys, im2.shape[0], im2.shape[1], scale=s)
    return Sample(os.path.basename(tiff_path), im2, lb2, native_lab=lb2, src_mpp=0.25, scale=1.0)


# ---------------------------------------------------------------- augmentation
# Ruifrok & Johnston H&E(+residual) optical density vectors.
_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_HED = _HED / np.linalg.norm(_HED, axis=1, keepdims=True)
_HED_INV = np.linalg.inv(_HED)


def rgb_to_hed(rgb):
    od = -np.log(np.maximum(rgb.astype(np.float32), 1.0) / 255.0)
    return od.reshape(-1, 3) @ _HED_INV.astype(np.float32)


def hed_to_rgb(hed, shape):
    od = hed @ _HED.astype(np.float32)
    return np.clip(255.0 * np.exp(-od), 0, 255).reshape(shape).astype(np.uint8)


def stain_jitter(img, rng, sigma=0.05, bias=0.02):
    hed = rgb_to_hed(img)
    hed = hed * rng.uniform(1 - sigma * 3, 1 + sigma * 3, size=3).astype(np.float32) + \
        rng.uniform(-bias, bias, size=3).astype(np.float32)
    return hed_to_rgb(hed, img.shape)


def colour_jitter(img, rng):
    x = img.astype(np.float32)
    x = x * rng.uniform(0.9, 1.1) + rng.uniform(-12, 12)  # brightness/contrast
    g = x.mean(2, keepdims=True)
    x = g + (x - g) * rng.uniform(0.85, 1.15)  # saturation
    return np.clip(x, 0, 255).astype(np.uint8)


class CropDataset(torch.utils.data.IterableDataset):
    """Endless random crops of `crop` px at the analysis µm/px with augmentation.
    `crop` may be a list of sizes: each crop draws one, so that the model sees nuclei with as much context as
    the engine's tiles give it (its scores otherwise drift with the tile size, docs/BENCHMARKS.md).
    scale jitter: a window of crop*s px (s in [1/1.15, 1.15]) is resampled to crop px."""

    def __init__(self, samples, crop=256, seed=0, augment=True, scale_jitter=0.15, focus_nuclei=0.8,
                 weights=None):
        self.crop_sizes = list(crop) if isinstance(crop, (list, tuple)) else [crop]
        self.samples, self.seed, self.augment = samples, seed, augment
        self.scale_jitter, self.focus = scale_jitter, focus_nuclei
        w = np.array(weights if weights is not None else [s.img.shape[0] * s.img.shape[1] for s in samples],
                     dtype=np.float64)
        self.p = w / w.sum()
        self.centres = []
        for s in samples:
            ys, xs = np.nonzero(s.lab)
            k = np.random.default_rng(0).choice(len(ys), size=min(len(ys), 4000), replace=False) if len(ys) else []
            self.centres.append(np.stack([ys[k], xs[k]], 1) if len(ys) else np.zeros((0, 2), int))

    def sample(self, rng):
        i = rng.choice(len(self.samples), p=self.p)
        s = self.samples[i]
        sc = math.exp(rng.uniform(-math.log(1 + self.scale_jitter), math.log(1 + self.scale_jitter))) \
            if self.augment else 1.0
        crop = int(self.crop_sizes[rng.integers(len(self.crop_sizes))])
        win = max(8, round(crop * sc))
        H, W = s.lab.shape
        if len(self.centres[i]) and rng.random() < self.focus:
            cy, cx = self.centres[i][rng.integers(len(self.centres[i]))]
            y0 = int(cy) - win // 2 + rng.integers(-win // 3, win // 3 + 1)
            x0 = int(cx) - win // 2 + rng.integers(-win // 3, win // 3 + 1)
        else:
            y0 = rng.integers(min(0, H - win), max(1, H - win + 1))
            x0 = rng.integers(min(0, W - win), max(1, W - win + 1))
        img = np.full((win, win, 3), 240, np.uint8)
        lab = np.zeros((win, win), np.int32)
        ys, xs = max(0, y0), max(0, x0)
        ye, xe = min(H, y0 + win), min(W, x0 + win)
        if ye > ys and xe > xs:
            img[ys - y0:ye - y0, xs - x0:xe - x0] = s.img[ys:ye, xs:xe]
            lab[ys - y0:ye - y0, xs - x0:xe - x0] = s.lab[ys:ye, xs:xe]
        if win != crop:
            img = np.asarray(Image.fromarray(img).resize((crop, crop), Image.BILINEAR))
            lab = np.asarray(Image.fromarray(lab).resize((crop, crop), Image.NEAREST)).astype(np.int32)
        if self.augment:
            k = rng.integers(4)
            img, lab = np.rot90(img, k), np.rot90(lab, k)
            if rng.random() < 0.5:
                img, lab = img[:, ::-1], lab[:, ::-1]
            img = np.ascontiguousarray(img)
            lab = np.ascontiguousarray(lab)
            if rng.random() < 0.8:
                img = stain_jitter(img, rng)
            if rng.random() < 0.8:
                img = colour_jitter(img, rng)
            if rng.random() < 0.2:
                img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))))
            if rng.random() < 0.3:
                img = np.clip(img + rng.normal(0, rng.uniform(1, 6), img.shape), 0, 255).astype(np.uint8)
        return to_target(img, lab)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            yield self.sample(rng)


def to_target(img, lab, min_area=6):
    ids, counts = np.unique(lab, return_counts=True)
    keep = [(i, c) for i, c in zip(ids, counts) if i != 0 and c >= min_area]
    masks, boxes = [], []
    for i, _ in keep:
        m = lab == i
        ys, xs = np.nonzero(m)
        masks.append(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    H, W = lab.shape
    t = {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.ones(len(keep), dtype=torch.int64),
        "masks": torch.from_numpy(np.stack(masks).astype(np.uint8)) if masks else torch.zeros((0, H, W), dtype=torch.uint8),
    }
    x = torch.from_numpy(np.array(img, dtype=np.uint8, copy=True)).permute(2, 0, 1).float() / 255.0
    return x, t
