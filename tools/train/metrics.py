"""Instance segmentation metrics on label maps (0 = background): AJI (Kumar et al. 2017), PQ = DQ x SQ
(Kirillov et al. 2019, unique matching at IoU > 0.5), F1 / precision / recall at IoU 0.5 (F1@0.5 equals DQ),
and pixel Dice of the foreground."""
import numpy as np


def _overlaps(gt, pred):
    gt = gt.astype(np.int64).ravel()
    pred = pred.astype(np.int64).ravel()
    ng, npd = int(gt.max()), int(pred.max())
    inter = np.bincount(gt * (npd + 1) + pred, minlength=(ng + 1) * (npd + 1)).reshape(ng + 1, npd + 1)
    area_g = inter.sum(1)
    area_p = inter.sum(0)
    return inter[1:, 1:], area_g[1:], area_p[1:]


def _relabel(lab):
    ids = np.unique(lab)
    ids = ids[ids != 0]
    lut = np.zeros(int(lab.max()) + 1, dtype=np.int64)
    lut[ids] = np.arange(1, len(ids) + 1)
    return lut[lab]


def instance_metrics(gt, pred):
    gt, pred = _relabel(gt), _relabel(pred)
    inter, ag, ap = _overlaps(gt, pred)
    ng, npd = len(ag), len(ap)
    union = ag[:, None] + ap[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    # PQ / F1 at IoU > 0.5: matches are unique by construction (at most one partner above 0.5).
    tp_pairs = np.argwhere(iou > 0.5) if ng and npd else np.zeros((0, 2), int)
    tp = len(tp_pairs)
    fp, fn = npd - tp, ng - tp
    dq = tp / (tp + 0.5 * fp + 0.5 * fn) if (tp + fp + fn) else 1.0
    sq = float(iou[tp_pairs[:, 0], tp_pairs[:, 1]].mean()) if tp else 0.0
    # AJI: each GT nucleus takes the prediction with the highest IoU; unused predictions add to the union.
    if ng and npd:
        j = iou.argmax(1)
        I = inter[np.arange(ng), j].sum()
        U = union[np.arange(ng), j].sum()
        # GT with no overlapping prediction at all contribute their area only and use no prediction.
        none = inter.max(1) == 0
        used = np.zeros(npd, bool)
        used[j[~none]] = True
        U += ap[~used].sum()
        I -= inter[np.arange(ng), j][none].sum()
        U -= (union[np.arange(ng), j][none] - ag[none]).sum()
        aji = I / U if U else 0.0
    else:
        aji = 0.0 if (ng or npd) else 1.0
    g, p = gt > 0, pred > 0
    dice = 2 * (g & p).sum() / max(g.sum() + p.sum(), 1)
    return {"aji": float(aji), "pq": float(dq * sq), "dq": float(dq), "sq": float(sq), "f1@0.5": float(dq),
            "precision@0.5": tp / npd if npd else 0.0, "recall@0.5": tp / ng if ng else 0.0,
            "dice": float(dice), "n_gt": ng, "n_pred": npd, "tp": tp}


def summarize(rows):
    keys = ["aji", "pq", "dq", "sq", "f1@0.5", "precision@0.5", "recall@0.5", "dice"]
    out = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    out["n_images"] = len(rows)
    out["n_gt"] = int(sum(r["n_gt"] for r in rows))
    out["n_pred"] = int(sum(r["n_pred"] for r in rows))
    return out


def matched_predictions(gt, pred):
    """{prediction id: True if it matches a true nucleus at IoU > 0.5} for every id present in `pred`."""
    ids = np.unique(pred)
    ids = ids[ids != 0]
    if not len(ids):
        return {}
    inter, ag, ap = _overlaps(_relabel(gt), _relabel(pred))
    if not len(ag):
        return {int(i): False for i in ids}
    iou = inter / np.maximum(ag[:, None] + ap[None, :] - inter, 1)
    hit = (iou > 0.5).any(0)
    return {int(i): bool(h) for i, h in zip(ids, hit)}


def reliability(pairs, edges=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)):
    """Precision (share matched at IoU > 0.5) per score bin, from (score, matched) pairs."""
    s = np.array([p[0] for p in pairs], float)
    m = np.array([p[1] for p in pairs], bool)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (s >= lo) & (s < hi)
        if sel.any():
            out.append({"bin": [lo, min(hi, 1.0)], "n": int(sel.sum()), "precision": float(m[sel].mean())})
    return out


def upsample(lab, shape):
    """A predicted label map at the analysis µm/px, brought to the truth's native grid (nearest neighbour)."""
    if lab.shape == shape:
        return lab
    from PIL import Image
    return np.asarray(Image.fromarray(lab).resize((shape[1], shape[0]), Image.NEAREST)).astype(np.int32)
