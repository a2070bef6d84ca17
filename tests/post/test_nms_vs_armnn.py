"""mnet_ssd_detect against Arm NN's CpuRef DetectionPostProcess layer (its own
implementation of TFLite's TFLite_Detection_PostProcess), built directly with
pyarmnn's INetwork API: the anchors of the COCO SSD file and random small
scenes, fast and regular NMS. Scores are continuous random values, so ties
(which both sides may order differently) do not occur.

Arm NN's NMS loop differs from TFLite's in one way: a box already suppressed
still suppresses later boxes (TFLite skips it). Low IoU thresholds make such
chains common, so the scenes here use thresholds >= 0.4 where they do not
occur; TFLite's own rule for chains is checked by test_ssd_detect.c (hand
case) and test_ssd_detect_random.c (a transcription of TFLite's loop).
Exit 77 = skipped (no library or no pyarmnn)."""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
sys.path.insert(0, os.path.join(SOURCE, "tools", "convert"))
sys.path.insert(0, HERE)

import post_ctypes  # noqa: E402

COCO_V1 = "models/ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite"
BOX_TOLERANCE = 2e-6   # Arm NN decodes in float, mnet in double like TFLite

failures = []


def check(cond, message):
    print(("ok   " if cond else "FAIL ") + message)
    if not cond:
        failures.append(message)


def armnn_detect(ann, encodings, scores, anchors, num_classes, cfg):
    n, columns = scores.shape
    d = ann.DetectionPostProcessDescriptor()
    d.m_MaxDetections = cfg["max_detections"]
    d.m_MaxClassesPerDetection = cfg["max_classes_per_detection"]
    d.m_DetectionsPerClass = cfg["detections_per_class"]
    d.m_NmsScoreThreshold = cfg["score_threshold"]
    d.m_NmsIouThreshold = cfg["iou_threshold"]
    d.m_NumClasses = num_classes
    d.m_ScaleY = d.m_ScaleX = 10.0
    d.m_ScaleH = d.m_ScaleW = 5.0
    d.m_UseRegularNms = bool(cfg["regular"])
    net = ann.INetwork()
    enc_in = net.AddInputLayer(0, "box_encodings")
    score_in = net.AddInputLayer(1, "scores")
    anchor_info = ann.TensorInfo(ann.TensorShape((n, 4)), ann.DataType_Float32)
    if hasattr(anchor_info, "SetConstant"):
        anchor_info.SetConstant(True)
    anchors = np.ascontiguousarray(anchors, np.float32)
    layer = net.AddDetectionPostProcessLayer(d, ann.ConstTensor(anchor_info, anchors), "post")
    in_infos = [ann.TensorInfo(ann.TensorShape((1, n, 4)), ann.DataType_Float32),
                ann.TensorInfo(ann.TensorShape((1, n, columns)), ann.DataType_Float32)]
    for k, src in enumerate((enc_in, score_in)):
        src.GetOutputSlot(0).SetTensorInfo(in_infos[k])
        src.GetOutputSlot(0).Connect(layer.GetInputSlot(k))
    m = cfg["max_detections"] * (1 if cfg["regular"] else cfg["max_classes_per_detection"])
    out_infos = [ann.TensorInfo(ann.TensorShape(s), ann.DataType_Float32)
                 for s in ((1, m, 4), (1, m), (1, m), (1,))]
    for k in range(4):
        layer.GetOutputSlot(k).SetTensorInfo(out_infos[k])
        layer.GetOutputSlot(k).Connect(net.AddOutputLayer(k, "out%d" % k).GetInputSlot(0))
    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, _ = ann.Optimize(net, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(),
                                ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(optimized)
    for info in in_infos:
        if hasattr(info, "SetConstant"):
            info.SetConstant(True)
    inputs = ann.make_input_tensors([(0, in_infos[0]), (1, in_infos[1])],
                                    [encodings[None].astype(np.float32),
                                     scores[None].astype(np.float32)])
    outputs = ann.make_output_tensors([(k, out_infos[k]) for k in range(4)])
    runtime.EnqueueWorkload(net_id, inputs, outputs)
    boxes, classes, out_scores, count = ann.workload_tensors_to_ndarray(outputs)
    runtime.UnloadNetwork(net_id)
    rows = int(count[0]) * (1 if cfg["regular"] else cfg["max_classes_per_detection"])
    return [(int(classes[0, i]), float(out_scores[0, i]), boxes[0, i]) for i in range(rows)]


def compare(label, ours, theirs):
    same_count = len(ours) == len(theirs)
    check(same_count, "%s: %d detections, Arm NN %d" % (label, len(ours), len(theirs)))
    if not same_count:
        return
    worst = 0.0
    for i, ((_, cls, score, box), (t_cls, t_score, t_box)) in enumerate(zip(ours, theirs)):
        if cls != t_cls or score != t_score:
            check(False, "%s: detection %d is class %d score %.7f, Arm NN class %d score %.7f"
                  % (label, i, cls, score, t_cls, t_score))
            return
        worst = max(worst, float(np.abs(box - t_box).max()))
    check(worst <= BOX_TOLERANCE, "%s: same classes and scores, box error %.2e" % (label, worst))


def run_case(post, ann, label, encodings, probabilities, anchors, num_classes, cfg):
    params = post_ctypes.NmsParams(num_classes, 1, post_ctypes.IDENTITY, cfg["score_threshold"],
                                   cfg["iou_threshold"], cfg["max_detections"],
                                   cfg["max_classes_per_detection"],
                                   cfg["detections_per_class"], cfg["regular"])
    ours = post_ctypes.detect(post, encodings, probabilities, anchors, params)
    theirs = armnn_detect(ann, encodings, probabilities, anchors, num_classes, cfg)
    compare(label, ours, theirs)
    return len(ours)


def config(regular, max_detections, score_threshold, iou=0.6, per_class=100, classes_per_box=1):
    return {"regular": regular, "max_detections": max_detections,
            "score_threshold": score_threshold, "iou_threshold": iou,
            "detections_per_class": per_class, "max_classes_per_detection": classes_per_box}


def main():
    post = post_ctypes.load_or_skip()
    try:
        import pyarmnn as ann
    except ImportError as e:
        print("skip: %s" % e)
        return 77

    rng = np.random.default_rng(11)
    path = os.path.join(SHARED, COCO_V1)
    if os.path.exists(path):
        import tflite_reader
        model = tflite_reader.read_tflite(path)
        op = [o for o in model.operators if o.opcode == "CUSTOM:TFLite_Detection_PostProcess"][0]
        t = model.tensors[op.inputs[2]]
        anchors = ((t.data.astype(np.float64) - t.quantization.zero_point[0]) *
                   t.quantization.scale[0]).astype(np.float32)
    else:
        print("skip the COCO anchors (missing model); using generated ones")
        anchors = post.tf_anchors([(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)],
                                  0.2, 0.95, [1.0, 2.0, 0.5, 3.0, 0.3333])
    n, classes = anchors.shape[0], 90
    encodings = rng.normal(0, 1, (n, 4)).astype(np.float32)
    logits = rng.normal(-4, 2, (n, classes + 1)).astype(np.float32)
    probabilities = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    total = 0
    for label, cfg in [("COCO fast, 10 dets", config(0, 10, 1e-8)),
                       ("COCO fast, 100 dets, thr .3", config(0, 100, 0.3)),
                       ("COCO fast, iou .45", config(0, 50, 0.2, iou=0.45)),
                       ("COCO regular, 100 dets", config(1, 100, 0.3, per_class=20)),
                       ("COCO regular, 5 per class", config(1, 60, 0.1, iou=0.45, per_class=5))]:
        total += run_case(post, ann, label, encodings, probabilities, anchors, classes, cfg)

    for seed in range(6):
        r = np.random.default_rng(100 + seed)
        n = int(r.integers(5, 300))
        classes = int(r.integers(1, 8))
        a = np.stack([r.uniform(0, 1, n), r.uniform(0, 1, n),
                      r.uniform(0.05, 0.6, n), r.uniform(0.05, 0.6, n)], 1).astype(np.float32)
        enc = r.normal(0, 1, (n, 4)).astype(np.float32)
        prob = r.uniform(0, 1, (n, classes + 1)).astype(np.float32)
        cfg = config(seed % 2, int(r.integers(1, 40)), float(r.uniform(0.05, 0.8)),
                     iou=float(r.uniform(0.4, 0.8)), per_class=int(r.integers(1, 30)))
        total += run_case(post, ann, "random scene %d (%d anchors, %d classes, %s)"
                          % (seed, n, classes, "regular" if cfg["regular"] else "fast"),
                          enc, prob, a, classes, cfg)
    check(total > 100, "the cases detected something (%d detections)" % total)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
