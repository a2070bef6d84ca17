#!/usr/bin/python3
"""Sanity score of SSD fixtures against coco-dev ground truth (the numbers in
README.md): score > 0.5 detections matched greedily to same-category boxes
with IoU >= 0.5; ground truth of area > 32^2 only, crowd boxes ignored.
Usage: ssd_sanity.py tests/fixtures/armnn/ssd_*.json"""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'eval'))
from boxes import iou  # noqa: E402
gt = json.load(open('/work/shared/data/coco-dev/instances_train2017_subset.json'))
imgs = {i['file_name']: i for i in gt['images']}
anns = {}
for a in gt['annotations']:
    anns.setdefault(a['image_id'], []).append(a)
for name in sys.argv[1:]:
    d = json.load(open(name)); tp=fp=0; ngt=0
    for r in d['images']:
        im = imgs[r['file']]; W, H = im['width'], im['height']
        g = [(a['category_id'], [a['bbox'][1], a['bbox'][0], a['bbox'][1]+a['bbox'][3], a['bbox'][0]+a['bbox'][2]])
             for a in anns.get(im['id'], []) if not a.get('iscrowd') and a['bbox'][2]*a['bbox'][3] > 32*32]
        ngt += len(g); used=set()
        for b, c, s in zip(r['boxes'], r['classes'], r['scores']):
            if s <= 0.5: continue
            bb = [b[0]*H, b[1]*W, b[2]*H, b[3]*W]
            best = max(((iou(bb, gb), j) for j, (gc, gb) in enumerate(g) if gc == c+1 and j not in used), default=(0, -1))
            if best[0] >= 0.5: tp += 1; used.add(best[1])
            else: fp += 1
    print(name, len(d['images']), 'images: precision %.2f recall %.2f (tp %d fp %d gt %d)' % (tp/max(1,tp+fp), tp/max(1,ngt), tp, fp, ngt))
