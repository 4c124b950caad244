"""Annotation readers: every reader returns (image RGB uint8 HxWx3, instance label map int32 HxW, mpp or None).

Label maps: 0 = background, 1..N = one nucleus each. Where polygons overlap, the later one wins (the same rule
train_extra/SOURCE.txt states for the MoNuSeg label maps), so every source is rasterised the same way.
"""
import glob
import json
import os
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageDraw

Image.MAX_IMAGE_PIXELS = None


def read_rgb(path):
    im = Image.open(path)
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def rasterize_polygons(polygons, height, width, scale=1.0):
    """polygons: list of (K,2) arrays of x,y in pixel coordinates (pixel centres at integer + 0.5 is NOT
    assumed: ImageScope/QuPath vertices are continuous coordinates with pixel (0,0) covering [0,1)).
    Returns an int32 label map; polygon i gets label i+1; later polygons overwrite earlier ones."""
    canvas = Image.new("I", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    n = 0
    for poly in polygons:
        p = np.asarray(poly, dtype=np.float64) * scale
        if len(p) < 3:
            continue
        n += 1
        # PIL fills pixels whose centres (integer coords) lie inside; shift by -0.5 for continuous coords.
        draw.polygon([(float(x) - 0.5, float(y) - 0.5) for x, y in p], fill=n, outline=n)
    return np.asarray(canvas, dtype=np.int32).copy()


def relabel_sequential(lab):
    ids = np.unique(lab)
    ids = ids[ids != 0]
    lut = np.zeros(int(lab.max()) + 1, dtype=np.int32)
    lut[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return lut[lab]


def read_imagescope_xml(xml_path):
    """Aperio ImageScope XML -> (list of (K,2) vertex arrays, MicronsPerPixel or None)."""
    root = ET.parse(xml_path).getroot()
    mpp = root.get("MicronsPerPixel")
    polys = []
    for region in root.iter("Region"):
        verts = [(float(v.get("X")), float(v.get("Y"))) for v in region.iter("Vertex")]
        if len(verts) >= 3:
            polys.append(np.array(verts))
    return polys, (float(mpp) if mpp else None)


def read_geojson_polygons(path):
    """QuPath / Karyon GeoJSON FeatureCollection -> list of outer rings (K,2), level-0 px. MultiPolygons are
    split into their parts; holes are ignored (nuclei have none)."""
    with open(path) as f:
        g = json.load(f)
    feats = g["features"] if g.get("type") == "FeatureCollection" else [g]
    polys = []
    for ft in feats:
        geom = ft.get("geometry") or {}
        if geom.get("type") == "Polygon":
            polys.append(np.array(geom["coordinates"][0], dtype=np.float64))
        elif geom.get("type") == "MultiPolygon":
            polys.extend(np.array(p[0], dtype=np.float64) for p in geom["coordinates"])
    return polys


def load_monuseg_xml(image_path, xml_path, default_mpp=0.25):
    img = read_rgb(image_path)
    polys, mpp = read_imagescope_xml(xml_path)
    lab = rasterize_polygons(polys, img.shape[0], img.shape[1])
    return img, relabel_sequential(lab), (mpp or default_mpp)


def load_label_map(image_path, label_path, mpp=0.25):
    img = read_rgb(image_path)
    lab = np.asarray(Image.open(label_path)).astype(np.int32)
    if lab.shape != img.shape[:2]:
        raise ValueError(f"{image_path}: label map {lab.shape} does not match the image {img.shape[:2]}")
    return img, relabel_sequential(lab), mpp


def load_png_masks(image_path, mask_dir, mpp=None):
    """Kaggle DSB layout: one binary PNG per nucleus."""
    img = read_rgb(image_path)
    lab = np.zeros(img.shape[:2], dtype=np.int32)
    for i, p in enumerate(sorted(glob.glob(os.path.join(mask_dir, "*.png"))), start=1):
        m = np.asarray(Image.open(p).convert("L")) > 127
        lab[m] = i
    return img, relabel_sequential(lab), mpp


def load_geojson(image_path, geojson_path, mpp=None):
    img = read_rgb(image_path)
    lab = rasterize_polygons(read_geojson_polygons(geojson_path), img.shape[0], img.shape[1])
    return img, relabel_sequential(lab), mpp
