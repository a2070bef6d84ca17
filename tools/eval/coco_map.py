#!/usr/bin/python3
"""COCO box mAP, written from the COCO evaluation definition (what
pycocotools' COCOeval computes for iouType 'bbox', area range 'all',
maxDets 100), for environments without pycocotools.

  mAP     mean over categories with at least one non-crowd ground truth, and
          over IoU thresholds .50:.05:.95, of the 101-point interpolated
          precision (recall thresholds 0:.01:1; precision made monotone from
          the right; 0 where a recall level is never reached).
  mAP50   the same at IoU .50 only.

Matching, per image and category, as COCO does: detections by decreasing
score (stable, at most 100 per image and category), each takes the
unmatched ground truth of highest IoU >= threshold, preferring regular
ground truth over crowd / ignored ones. A crowd region may absorb any number
of detections; its IoU is intersection / detection area, and detections
matched to it count neither as true nor as false positives. Unmatched crowd
regions are not misses.

Usage: coco_map.py GROUND_TRUTH.json DETECTIONS.json [--per-category]
  detections: [{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]
"""

import argparse
import json
import sys

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = 100
AREA_ALL = (0.0, 1e10)


class EvalInputError(ValueError):
    """Detections that do not fit the ground truth (unknown image, bad box)."""


def box_iou(dets, gts, crowd):
    """[D, G] IoU of [x, y, w, h] boxes; for crowd ground truth the union is
    the detection's own area."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    d = np.asarray(dets, np.float64)[:, None, :]
    g = np.asarray(gts, np.float64)[None, :, :]
    iw = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0])
    ih = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    d_area = d[..., 2] * d[..., 3]
    g_area = g[..., 2] * g[..., 3]
    union = np.where(np.asarray(crowd, bool)[None, :], d_area, d_area + g_area - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def match_image(dets, gts):
    """One image and category. dets: list of (score, bbox); gts: list of
    (bbox, iscrowd, area). Returns (scores, matched[T, D], ignored[T, D],
    number of non-ignored ground truths)."""
    gt_ignore = np.array([bool(c) or not (AREA_ALL[0] <= a <= AREA_ALL[1]) for _, c, a in gts],
                         bool)
    gt_order = np.argsort(gt_ignore, kind="mergesort")       # regular ones first
    gt_boxes = [gts[i][0] for i in gt_order]
    gt_crowd = [bool(gts[i][1]) for i in gt_order]
    gt_ignore = gt_ignore[gt_order]
    det_order = np.argsort([-s for s, _ in dets], kind="mergesort")[:MAX_DETS]
    scores = np.array([dets[i][0] for i in det_order], np.float64)
    ious = box_iou([dets[i][1] for i in det_order], gt_boxes, gt_crowd)

    T, D, G = len(IOU_THRESHOLDS), len(det_order), len(gt_boxes)
    det_matched = np.zeros((T, D), bool)
    det_ignored = np.zeros((T, D), bool)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        gt_taken = np.zeros(G, bool)
        for d in range(D):
            best_iou, best = min(threshold, 1 - 1e-10), -1
            for g in range(G):
                if gt_taken[g] and not gt_crowd[g]:
                    continue
                # Once a regular ground truth matched, ignored ones (sorted
                # last) cannot replace it.
                if best > -1 and not gt_ignore[best] and gt_ignore[g]:
                    break
                if ious[d, g] < best_iou:
                    continue
                best_iou, best = ious[d, g], g
            if best == -1:
                continue
            det_matched[t, d] = True
            det_ignored[t, d] = gt_ignore[best]
            gt_taken[best] = True
    return scores, det_matched, det_ignored, int(np.count_nonzero(~gt_ignore))


def interpolated_precision(scores, matched, ignored, num_gt):
    """[T] AP values (mean of precision at the 101 recall thresholds)."""
    order = np.argsort(-scores, kind="mergesort")
    matched, ignored = matched[:, order], ignored[:, order]
    tps = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
    fps = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)
    ap = np.zeros(len(IOU_THRESHOLDS))
    for t in range(len(IOU_THRESHOLDS)):
        tp, fp = tps[t], fps[t]
        recall = tp / num_gt
        precision = tp / (tp + fp + np.spacing(1))
        # Precision envelope: the best precision at any higher recall.
        precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        where = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
        sampled = np.zeros(len(RECALL_THRESHOLDS))
        reached = where < len(precision)
        sampled[reached] = precision[where[reached]]
        ap[t] = sampled.mean()
    return ap


def evaluate(ground_truth, detections):
    """ground_truth: a COCO instances dict; detections: list of dicts.
    Returns {"mAP", "mAP50", "per_category": {id: {"AP", "AP50", "num_gt"}},
    "num_categories"}; mAP is NaN when no category has ground truth."""
    image_ids = {img["id"] for img in ground_truth.get("images", [])}
    image_ids |= {a["image_id"] for a in ground_truth.get("annotations", [])}
    category_ids = sorted({c["id"] for c in ground_truth.get("categories", [])} |
                          {a["category_id"] for a in ground_truth.get("annotations", [])})
    gts, dets = {}, {}
    for a in ground_truth.get("annotations", []):
        x, y, w, h = (float(v) for v in a["bbox"])
        area = float(a.get("area", w * h))
        gts.setdefault((a["image_id"], a["category_id"]), []).append(
            ([x, y, w, h], int(a.get("iscrowd", 0)), area))
    for i, d in enumerate(detections):
        if d["image_id"] not in image_ids:
            raise EvalInputError("detection %d: image_id %r is not in the ground truth"
                                 % (i, d["image_id"]))
        box = [float(v) for v in d["bbox"]]
        if len(box) != 4 or not np.all(np.isfinite(box)) or not np.isfinite(float(d["score"])):
            raise EvalInputError("detection %d: bbox must be 4 finite numbers [x, y, w, h] and "
                                 "score finite, got %r / %r" % (i, d["bbox"], d["score"]))
        dets.setdefault((d["image_id"], d["category_id"]), []).append((float(d["score"]), box))

    per_category = {}
    for c in category_ids:
        all_scores, all_matched, all_ignored, num_gt = [], [], [], 0
        for img in sorted(image_ids):
            g, d = gts.get((img, c), []), dets.get((img, c), [])
            if not g and not d:
                continue
            scores, matched, ignored, n = match_image(d, g)
            all_scores.append(scores)
            all_matched.append(matched)
            all_ignored.append(ignored)
            num_gt += n
        if num_gt == 0:
            continue  # COCO leaves such a category out of the average
        T = len(IOU_THRESHOLDS)
        ap = interpolated_precision(
            np.concatenate(all_scores) if all_scores else np.zeros(0),
            np.concatenate(all_matched, axis=1) if all_matched else np.zeros((T, 0), bool),
            np.concatenate(all_ignored, axis=1) if all_ignored else np.zeros((T, 0), bool),
            num_gt)
        per_category[c] = {"AP": float(ap.mean()), "AP50": float(ap[0]), "num_gt": num_gt}

    if per_category:
        m = float(np.mean([v["AP"] for v in per_category.values()]))
        m50 = float(np.mean([v["AP50"] for v in per_category.values()]))
    else:
        m = m50 = float("nan")
    return {"mAP": m, "mAP50": m50, "per_category": per_category,
            "num_categories": len(per_category)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ground_truth")
    parser.add_argument("detections")
    parser.add_argument("--per-category", action="store_true")
    args = parser.parse_args(argv)
    with open(args.ground_truth) as f:
        gt = json.load(f)
    with open(args.detections) as f:
        dets = json.load(f)
    try:
        result = evaluate(gt, dets)
    except EvalInputError as e:
        print("coco_map: %s" % e, file=sys.stderr)
        return 2
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt.get("categories", [])}
    if args.per_category:
        for c, v in sorted(result["per_category"].items()):
            print("%-20s AP %.4f  AP50 %.4f  (%d gt)" % (names.get(c, c), v["AP"], v["AP50"],
                                                         v["num_gt"]))
    print("mAP@[.5:.95] %.4f  mAP@.5 %.4f  over %d categories"
          % (result["mAP"], result["mAP50"], result["num_categories"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
