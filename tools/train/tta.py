"""Test-time flips for torchvision Mask R-CNN output: run the model on flipped copies of an image, map the
detections back, and fuse the views into one detection list.

Fusion (measured as a choice for issue 16, not shipped): detections of all views, highest score first, are grouped
greedily by box IoU > `iou` (at most one member per view). A group's score is the sum of its members' scores over
the number of views, so a nucleus found in only one of four views keeps a quarter of its score; its mask is the mean
of its members' mask probabilities and its box their mean box.
"""
import torch
from torchvision.ops import box_iou

# (flip width, flip height) per view, in the order views are added.
VIEWS = [(False, False), (True, False), (False, True), (True, True)]


def _flip(t, fw, fh):
    dims = [d for d, on in ((-1, fw), (-2, fh)) if on]
    return torch.flip(t, dims) if dims else t


def _unflip_boxes(boxes, fw, fh, width, height):
    b = boxes.clone()
    if fw:
        b[:, [0, 2]] = width - boxes[:, [2, 0]]
    if fh:
        b[:, [1, 3]] = height - boxes[:, [3, 1]]
    return b


@torch.no_grad()
def predict_with_flips(predict_one, img_chw, n_views, iou=0.5):
    """`predict_one(x)` runs the model on one CHW float image and returns torchvision's output dict. Returns the
    same kind of dict (boxes, scores, labels, masks) for the fused views."""
    height, width = img_chw.shape[-2:]
    boxes, scores, labels, masks, view = [], [], [], [], []
    for v, (fw, fh) in enumerate(VIEWS[:n_views]):
        out = predict_one(_flip(img_chw, fw, fh))
        boxes.append(_unflip_boxes(out["boxes"], fw, fh, width, height))
        scores.append(out["scores"])
        labels.append(out["labels"])
        masks.append(_flip(out["masks"], fw, fh))
        view.append(torch.full((len(out["scores"]),), v, dtype=torch.long))
    boxes, scores, labels, masks, view = (torch.cat(t) for t in (boxes, scores, labels, masks, view))
    if n_views == 1 or len(scores) == 0:
        return {"boxes": boxes, "scores": scores, "labels": labels, "masks": masks}
    order = torch.argsort(scores, descending=True)
    overlaps = box_iou(boxes, boxes)
    taken = torch.zeros(len(scores), dtype=torch.bool)
    fused = {"boxes": [], "scores": [], "labels": [], "masks": []}
    for i in order.tolist():
        if taken[i]:
            continue
        taken[i] = True
        members, views_used = [i], {int(view[i])}
        near = torch.nonzero(~taken & (overlaps[i] > iou)).flatten()
        for j in near[torch.argsort(scores[near], descending=True)].tolist():  # the best match in each other view
            if int(view[j]) not in views_used:
                members.append(j)
                views_used.add(int(view[j]))
                taken[j] = True
        m = torch.tensor(members)
        fused["boxes"].append(boxes[m].mean(0))
        fused["scores"].append(scores[m].sum() / n_views)
        fused["labels"].append(labels[i])
        fused["masks"].append(masks[m].mean(0))
    return {"boxes": torch.stack(fused["boxes"]), "scores": torch.stack(fused["scores"]),
            "labels": torch.stack(fused["labels"]), "masks": torch.stack(fused["masks"])}
