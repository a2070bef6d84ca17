"""The bundled SSD detectors on the COCO dev images against the original
uint8 .tflite files run by Arm NN's CpuRef backend (fixtures in
tests/fixtures/armnn, tools/oracle/armnn_fixtures.py).

mnet runs through its CLI (`mnet detect --json`, its own decoding and
stretch resize) with the model's own NMS settings (threshold 0 = the model's
score threshold, the model's maximum count), which is what the fixtures hold.
Required: every Arm NN detection scoring above 0.5 has an mnet detection of
the same class with IoU >= 0.9 (>= 95 % of them). COCO mAP@[.5:.95] and mAP@.5
of both, against the dev set's annotations for the same images, go to
$MNET_BUILD_DIR/detection_map.json for bench/RESULTS.md.
"""
import json
import os
import subprocess
import sys

from cli_harness import ARMNN_FIXTURES, MNET, SHARED, SOURCE, box_iou, report_and_exit, skip

COCO = os.path.join(SHARED, "data", "coco-dev")
sys.path.insert(0, os.path.join(SOURCE, "tools", "eval"))

MIN_MATCHED = 0.95
MODELS = (("ssd_mobilenet_v1_coco.safetensors", "ssd_mobilenet_v1_coco.json"),
          ("ssd_mobilenet_v2_coco.safetensors", "ssd_mobilenet_v2_coco.json"))


def run_mnet(model, files):
    # fp32 explicitly: the int8 path is compared in tests/int8
    out = subprocess.run([MNET, "detect", "-m", model, "--threshold", "0",
                          "--precision", "fp32", "--json"] + [os.path.join(COCO, "images", f) for f in files],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError("mnet detect failed: %s" % out.stderr.strip())
    return {os.path.basename(json.loads(l)["image"]): json.loads(l) for l in out.stdout.splitlines()}


def coco_dets(image_id, boxes_xyxy, classes, scores):
    return [{"image_id": image_id, "category_id": c + 1, "score": s,
             "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]}
            for b, c, s in zip(boxes_xyxy, classes, scores)]


def check(model_file, fixture_file, gt, report):
    model = os.path.join(SOURCE, "models", model_file)
    fixture_path = os.path.join(ARMNN_FIXTURES, fixture_file)
    if not os.path.exists(model) or not os.path.exists(fixture_path):
        print("SKIP %s: model or fixture missing" % model_file)
        return None
    with open(fixture_path) as f:
        fixture = json.load(f)
    ids = {img["file_name"]: img["id"] for img in gt["images"]}
    sizes = {img["file_name"]: (img["width"], img["height"]) for img in gt["images"]}
    files = [r["file"] for r in fixture["images"]]
    mine = run_mnet(model, files)
    confident = matched = 0
    mnet_coco, armnn_coco = [], []
    for r in fixture["images"]:
        w, h = sizes[r["file"]]
        ref_boxes = [[b[1] * w, b[0] * h, b[3] * w, b[2] * h] for b in r["boxes"][:r["count"]]]
        ref_classes, ref_scores = r["classes"][:r["count"]], r["scores"][:r["count"]]
        dets = mine[r["file"]]["detections"]
        for box, cls, score in zip(ref_boxes, ref_classes, ref_scores):
            if score <= 0.5:
                continue
            confident += 1
            if any(d["class"] == cls and box_iou(d["box"], box) >= 0.9 for d in dets):
                matched += 1
        armnn_coco += coco_dets(ids[r["file"]], ref_boxes, ref_classes, ref_scores)
        mnet_coco += coco_dets(ids[r["file"]], [d["box"] for d in dets],
                               [d["class"] for d in dets], [d["score"] for d in dets])
    import coco_map
    subset = {"images": [i for i in gt["images"] if i["file_name"] in set(files)],
              "annotations": [a for a in gt["annotations"]
                              if a["image_id"] in {ids[f] for f in files}],
              "categories": gt["categories"]}
    m_mnet, m_armnn = coco_map.evaluate(subset, mnet_coco), coco_map.evaluate(subset, armnn_coco)
    fraction = matched / confident if confident else 1.0
    report[model_file] = {"images": len(files), "armnn_detections_above_0.5": confident,
                          "matched_iou_0.9_same_class": matched,
                          "mnet_mAP": m_mnet["mAP"], "mnet_mAP50": m_mnet["mAP50"],
                          "armnn_mAP": m_armnn["mAP"], "armnn_mAP50": m_armnn["mAP50"]}
    print("%s: %d/%d Arm NN detections above 0.5 matched (IoU >= 0.9, same class); "
          "mAP mnet %.3f / Arm NN %.3f, mAP@.5 mnet %.3f / Arm NN %.3f on %d images"
          % (model_file, matched, confident, m_mnet["mAP"], m_armnn["mAP"], m_mnet["mAP50"],
             m_armnn["mAP50"], len(files)))
    return fraction >= MIN_MATCHED


def main():
    if not os.path.exists(MNET):
        skip("build/mnet missing")
    if not os.path.isdir(COCO):
        skip("%s missing (the shared dev data)" % COCO)
    with open(os.path.join(COCO, "instances_train2017_subset.json")) as f:
        gt = json.load(f)
    report, results = {}, []
    for model, fixture in MODELS:
        r = check(model, fixture, gt, report)
        if r is not None:
            results.append(r)
    if not results:
        skip("no detector model with a fixture")
    report_and_exit(results, report, "detection_map.json")


if __name__ == "__main__":
    main()
