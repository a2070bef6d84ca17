#!/usr/bin/python3
"""Arm NN CpuRef's uint8 logits (the tensor before the final SOFTMAX) of the
uint8 classifiers for the first N imagenet-dev images, for
int8_agreement.py --armnn-logits. Nothing is written into the repository:
the truncated model copies and the .npz go to --work-dir.

  tools/oracle/armnn_logits.py --work-dir /tmp/oracle_logits v2 100
  -> /tmp/oracle_logits/armnn_logits_v2.npz (file name -> 1001 uint8)

V2: mobilenet_v2_1.0_224_quant.tflite cut after operator 64 (RESHAPE of the
logits). V1: the embedding extractor, then the head layers cut after
operator 1 (its RESHAPE); the pooled seam is stored as "seam:<file>".
About 3-10 s per image on this machine. Resumes from an existing .npz."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import armnn_fixtures as af  # noqa: E402

V2 = "mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"
V1_BODY = "mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
V1_HEAD = "mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite"


def logits_operator(path):
    """(operator count to keep, logits tensor): up to the op feeding SOFTMAX."""
    sys.path.insert(0, os.path.join(af.REPO, "tools", "convert"))
    import tflite_reader
    graph = tflite_reader.read_tflite(path)
    softmax = [op for op in graph.operators if op.opcode == "SOFTMAX"]
    if len(softmax) != 1 or softmax[0].index != len(graph.operators) - 1:
        raise RuntimeError("%s: expected one final SOFTMAX" % path)
    return softmax[0].index, softmax[0].inputs[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["v1", "v2"])
    ap.add_argument("count", type=int)
    ap.add_argument("--work-dir", default="/tmp/oracle_logits")
    args = ap.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    models_dir = os.path.join(af.SHARED, "models")
    head = os.path.join(models_dir, V2 if args.model == "v2" else V1_HEAD)
    keep, tensor = logits_operator(head)
    cut = os.path.join(args.work_dir, "%s_logits.tflite" % args.model)
    af.truncate_graph(head, cut, keep, tensor)
    chain = [cut] if args.model == "v2" else [os.path.join(models_dir, V1_BODY), cut]
    models = [af.ArmnnModel(p) for p in chain]
    out = os.path.join(args.work_dir, "armnn_logits_%s.npz" % args.model)
    done = dict(np.load(out)) if os.path.exists(out) else {}
    data_dir, files, _ = af.imagenet_images()
    for f in files[:args.count]:
        if f in done:
            continue
        x = af.classification_input(os.path.join(data_dir, f))[None]
        t = x
        for i, m in enumerate(models):
            t = m.run(t)[0]
            if i + 1 < len(models):
                done["seam:" + f] = t.reshape(-1).astype(np.uint8)
        done[f] = t.reshape(-1).astype(np.uint8)
        np.savez(out, **done)
        af.log("%s %s" % (args.model, f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
