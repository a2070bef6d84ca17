#!/usr/bin/python3
"""Agreement of two `mnet detect --json` runs over the same images (e.g. a
model at fp32 and at int8): how many detections of A with score >= T are
found in B (same class, IoU >= 0.5, B's score >= 0.8 T, each B detection used
once), with the mean IoU and score difference of the matches.

  mnet detect --json --threshold 0.3 --precision fp32 -m M IMAGES > a.jsonl
  mnet detect --json --threshold 0.3 --precision int8 -m M IMAGES > b.jsonl
  compare_detections.py a.jsonl b.jsonl [--threshold 0.5]"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
from boxes import iou  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threshold", type=float, default=0.5)
    args = ap.parse_args(argv)
    runs = [[json.loads(line) for line in open(p) if line.strip()] for p in (args.a, args.b)]
    t = args.threshold
    total = matched = count_b = 0
    ious, score_diffs = [], []
    for ra, rb in zip(*runs):
        if ra["image"] != rb["image"]:
            print("images differ: %s vs %s" % (ra["image"], rb["image"]), file=sys.stderr)
            return 1
        da = [d for d in ra["detections"] if d["score"] >= t]
        db = [d for d in rb["detections"] if d["score"] >= 0.8 * t]
        count_b += sum(d["score"] >= t for d in rb["detections"])
        used = set()
        for d in da:
            total += 1
            best = None
            for j, e in enumerate(db):
                if j in used or e["class"] != d["class"]:
                    continue
                v = iou(d["box"], e["box"])
                if v >= 0.5 and (best is None or v > best[0]):
                    best = (v, j)
            if best:
                matched += 1
                used.add(best[1])
                ious.append(best[0])
                score_diffs.append(abs(d["score"] - db[best[1]]["score"]))
    print("A: %d detections with score >= %.2f, B: %d; A's found in B: %d (%.1f %%), mean IoU "
          "%.3f, mean |score difference| %.4f"
          % (total, t, count_b, matched, 100.0 * matched / max(total, 1),
             sum(ious) / max(len(ious), 1), sum(score_diffs) / max(len(score_diffs), 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
