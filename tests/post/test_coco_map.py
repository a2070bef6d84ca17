"""tools/eval/coco_map.py on hand-made cases whose COCO mAP is worked out by
hand in the comments, plus the dev-set ground truth fed back as detections."""

import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
TOOL = os.path.join(SOURCE, "tools", "eval", "coco_map.py")
sys.path.insert(0, os.path.dirname(TOOL))

import coco_map  # noqa: E402

failures = []


def check(cond, message):
    print(("ok   " if cond else "FAIL ") + message)
    if not cond:
        failures.append(message)


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol


def gt_set(annotations, categories=(1, 2), images=(1, 2)):
    anns = []
    for i, (img, cat, box, *crowd) in enumerate(annotations):
        anns.append({"id": i + 1, "image_id": img, "category_id": cat, "bbox": box,
                     "area": box[2] * box[3], "iscrowd": crowd[0] if crowd else 0})
    return {"images": [{"id": i} for i in images],
            "categories": [{"id": c, "name": "c%d" % c} for c in categories],
            "annotations": anns}


def det(img, cat, box, score):
    return {"image_id": img, "category_id": cat, "bbox": box, "score": score}


def test_perfect():
    gt = gt_set([(1, 1, [10, 10, 50, 40]), (1, 2, [100, 20, 30, 30]), (2, 1, [5, 5, 20, 80])])
    dets = [det(a["image_id"], a["category_id"], a["bbox"], 0.5 + 0.1 * i)
            for i, a in enumerate(gt["annotations"])]
    r = coco_map.evaluate(gt, dets)
    check(close(r["mAP"], 1.0) and close(r["mAP50"], 1.0) and r["num_categories"] == 2,
          "perfect detections: mAP %.6f mAP50 %.6f" % (r["mAP"], r["mAP50"]))


def test_false_positive_first():
    # One ground truth; a miss scored 0.9 then a hit 0.8: precision 1/2 at
    # recall 1, and the envelope makes it 1/2 at every recall level.
    gt = gt_set([(1, 1, [0, 0, 10, 10])], categories=(1,))
    dets = [det(1, 1, [50, 50, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.8)]
    r = coco_map.evaluate(gt, dets)
    check(close(r["mAP"], 0.5) and close(r["mAP50"], 0.5), "FP ranked first: mAP %.6f" % r["mAP"])
    # The same miss ranked last costs nothing.
    dets[0]["score"] = 0.1
    r = coco_map.evaluate(gt, dets)
    check(close(r["mAP"], 1.0), "FP ranked last: mAP %.6f" % r["mAP"])
    # A false positive on another image of the evaluation counts too.
    gt = gt_set([(1, 1, [0, 0, 10, 10])], categories=(1,), images=(1, 2))
    r = coco_map.evaluate(gt, [det(2, 1, [0, 0, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.5)])
    check(close(r["mAP"], 0.5), "FP on an image without that category: mAP %.6f" % r["mAP"])


def test_duplicate():
    # Two ground truths. Hits 0.9 (g1), duplicate of g1 0.8, hit 0.7 (g2):
    # recall .5 .5 1, precision 1 .5 .667; envelope 1 .667 .667. Recall
    # thresholds 0..0.50 (51 of them) read 1, the 50 above read 2/3:
    # AP = (51 + 50 * 2/3) / 101 at every IoU threshold.
    gt = gt_set([(1, 1, [0, 0, 10, 10]), (1, 1, [20, 0, 10, 10])], categories=(1,))
    dets = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.8),
            det(1, 1, [20, 0, 10, 10], 0.7)]
    r = coco_map.evaluate(gt, dets)
    want = (51 + 50 * 2.0 / 3.0) / 101
    check(close(r["mAP"], want) and close(r["mAP50"], want),
          "duplicate detection: mAP %.6f want %.6f" % (r["mAP"], want))


def test_iou_levels():
    # IoU 0.72 = 72/100: a hit at thresholds .50-.70 (5 of 10), a miss above.
    gt = gt_set([(1, 1, [0, 0, 10, 10])], categories=(1,))
    r = coco_map.evaluate(gt, [det(1, 1, [0, 0, 10, 7.2], 0.9)])
    check(close(r["mAP"], 0.5) and close(r["mAP50"], 1.0),
          "IoU 0.72: mAP %.6f (want .5) mAP50 %.6f (want 1)" % (r["mAP"], r["mAP50"]))
    # IoU 0.4: nothing.
    r = coco_map.evaluate(gt, [det(1, 1, [0, 0, 10, 4], 0.9)])
    check(close(r["mAP"], 0.0) and close(r["mAP50"], 0.0), "IoU 0.4: mAP %.6f" % r["mAP"])


def test_crowd():
    # A crowd region around (100,100)-(300,300) and one regular object. The
    # detection inside the crowd (IoU with a crowd = intersection / detection
    # area = 1) is ignored, not a false positive, even when ranked first and
    # even twice; the unmatched crowd region is not a miss.
    gt = gt_set([(1, 1, [100, 100, 200, 200], 1), (1, 1, [0, 0, 20, 20])], categories=(1,))
    dets = [det(1, 1, [120, 120, 30, 30], 0.9), det(1, 1, [200, 200, 40, 40], 0.85),
            det(1, 1, [0, 0, 20, 20], 0.8)]
    r = coco_map.evaluate(gt, dets)
    check(close(r["mAP"], 1.0), "detections inside a crowd are ignored: mAP %.6f" % r["mAP"])
    check(r["per_category"][1]["num_gt"] == 1, "a crowd region is not a ground truth to find")
    # Only the crowd region: the category has nothing to find, so it is left
    # out of the average.
    gt = gt_set([(1, 1, [100, 100, 200, 200], 1), (1, 2, [0, 0, 20, 20])])
    r = coco_map.evaluate(gt, [det(1, 1, [120, 120, 30, 30], 0.9), det(1, 2, [0, 0, 20, 20], 0.5)])
    check(r["num_categories"] == 1 and close(r["mAP"], 1.0),
          "crowd-only category left out: %d categories, mAP %.6f" % (r["num_categories"], r["mAP"]))
    # A regular object inside the crowd region is matched before the crowd.
    gt = gt_set([(1, 1, [100, 100, 200, 200], 1), (1, 1, [120, 120, 30, 30])], categories=(1,))
    r = coco_map.evaluate(gt, [det(1, 1, [120, 120, 30, 30], 0.9)])
    check(close(r["mAP"], 1.0), "regular ground truth preferred over the crowd: %.6f" % r["mAP"])


def test_categories():
    # Category 2 has detections but no ground truth: left out. Category 3 has
    # ground truth and no detections: AP 0. Average of 1 and 0.
    gt = gt_set([(1, 1, [0, 0, 10, 10]), (2, 3, [5, 5, 10, 10])], categories=(1, 2, 3))
    dets = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 2, [0, 0, 10, 10], 0.95)]
    r = coco_map.evaluate(gt, dets)
    check(r["num_categories"] == 2 and close(r["mAP"], 0.5),
          "missing category: %d categories, mAP %.6f" % (r["num_categories"], r["mAP"]))
    check(close(r["per_category"][3]["AP"], 0.0) and 2 not in r["per_category"],
          "per-category APs")
    # No detections at all.
    r = coco_map.evaluate(gt, [])
    check(close(r["mAP"], 0.0), "no detections: mAP %.6f" % r["mAP"])


def test_max_dets():
    # 99 higher-scored misses then the hit: the hit is 100th, precision 1/100
    # at recall 1 -> AP 0.01. With 100 misses above it the hit is cut.
    gt = gt_set([(1, 1, [0, 0, 10, 10])], categories=(1,))
    misses = [det(1, 1, [100 + 20 * i, 500, 10, 10], 1.0 - 0.001 * i) for i in range(100)]
    hit = det(1, 1, [0, 0, 10, 10], 0.5)
    r = coco_map.evaluate(gt, misses[:99] + [hit])
    check(close(r["mAP"], 0.01), "hit ranked 100th: mAP %.6f" % r["mAP"])
    r = coco_map.evaluate(gt, misses + [hit])
    check(close(r["mAP"], 0.0), "hit ranked 101st is cut: mAP %.6f" % r["mAP"])


def test_errors():
    gt = gt_set([(1, 1, [0, 0, 10, 10])], categories=(1,))
    for bad in ([det(7, 1, [0, 0, 10, 10], 0.9)], [det(1, 1, [0, 0, 10], 0.9)],
                [det(1, 1, [0, 0, 10, float("nan")], 0.9)]):
        try:
            coco_map.evaluate(gt, bad)
            check(False, "bad detections rejected: %r" % bad)
        except coco_map.EvalInputError as e:
            check(True, "bad detections rejected: %s" % e)


def test_dev_set_and_cli():
    path = os.path.join(SHARED, "data", "coco-dev", "instances_train2017_subset.json")
    if not os.path.exists(path):
        print("skip dev set (missing)")
        return
    with open(path) as f:
        gt = json.load(f)
    rng = random.Random(3)
    # Ground truth back as detections (crowd regions left out): every
    # category is found perfectly.
    dets = [det(a["image_id"], a["category_id"], a["bbox"], rng.random())
            for a in gt["annotations"] if not a["iscrowd"]]
    r = coco_map.evaluate(gt, dets)
    check(close(r["mAP"], 1.0) and r["num_categories"] > 20,
          "dev ground truth as detections: mAP %.6f over %d categories"
          % (r["mAP"], r["num_categories"]))
    # Boxes shifted right by 15 % of their width: IoU 0.85 / 1.15 = 0.739,
    # a hit at thresholds .50-.70 only: mAP 5/10, mAP50 1.
    shifted = [dict(d, bbox=[d["bbox"][0] + 0.15 * d["bbox"][2]] + d["bbox"][1:]) for d in dets]
    r = coco_map.evaluate(gt, shifted)
    check(close(r["mAP"], 0.5, 1e-6) and close(r["mAP50"], 1.0, 1e-6),
          "shifted boxes: mAP %.6f mAP50 %.6f" % (r["mAP"], r["mAP50"]))
    with tempfile.TemporaryDirectory() as tmp:
        dpath = os.path.join(tmp, "dets.json")
        with open(dpath, "w") as f:
            json.dump(dets, f)
        out = subprocess.run([sys.executable, TOOL, path, dpath], capture_output=True, text=True)
        check(out.returncode == 0 and "mAP@[.5:.95] 1.0000" in out.stdout,
              "CLI prints the result: %r" % out.stdout.strip())


def main():
    test_perfect()
    test_false_positive_first()
    test_duplicate()
    test_iou_levels()
    test_crowd()
    test_categories()
    test_max_dets()
    test_errors()
    test_dev_set_and_cli()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
