#!/usr/bin/env python3
"""The shipped default model through the product on two held-out MoNuSeg validation images (never trained on):
`karyon-cli analyze IMAGE --mpp 0.25` with no --model (the default model and its card's thresholds), then
`karyon-cli evaluate` against the annotation (one ImageScope XML, one label map). Floors sit ~10 % under the values
measured when the model was shipped (docs/MODEL_CARD.md), so a regression in the model, its thresholds, tiling,
merge or polygon tracing fails here. Usage: CLI SHARED_DATA WORKDIR"""
import json
import os
import shutil
import subprocess
import sys

cli, shared, work = sys.argv[1:4]
mon = os.path.join(shared, "monuseg2018")
cases = [  # image, truth, measured (AJI, F1@0.5) at shipping
    ("train/images/TCGA-AR-A1AS-01Z-00-DX1.tif", "train/annotations/TCGA-AR-A1AS-01Z-00-DX1.xml", (0.630, 0.849)),
    ("train_extra/images/TCGA-G9-6363-01Z-00-DX1.tif", "train_extra/labels/TCGA-G9-6363-01Z-00-DX1.png", (0.574, 0.751)),
]
if not all(os.path.exists(os.path.join(mon, c[0])) and os.path.exists(os.path.join(mon, c[1])) for c in cases):
    print(f"skipped: MoNuSeg validation images not found under {mon}")
    sys.exit(77)
shutil.rmtree(work, ignore_errors=True)
failed = 0
for image, truth, (aji0, f10) in cases:
    out = os.path.join(work, os.path.basename(image))
    subprocess.run([cli, "analyze", os.path.join(mon, image), "-o", out, "--mpp", "0.25"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = json.loads(subprocess.run([cli, "evaluate", os.path.join(out, "nuclei.geojson"), os.path.join(mon, truth),
                                   "--json"], check=True, capture_output=True, text=True).stdout)
    ok = r["aji"] >= 0.9 * aji0 and r["f1"] >= 0.9 * f10
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(image)}: AJI {r['aji']:.3f} (floor {0.9 * aji0:.3f}), "
          f"F1@0.5 {r['f1']:.3f} (floor {0.9 * f10:.3f}), {r['predicted']} predicted / {r['truth']} true")
print(f"{len(cases) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
