#!/usr/bin/python3
"""Top-1 / top-5 accuracy of mnet classifiers on a labelled image folder
(labels.csv as in ../shared/data/imagenet-dev: file, class_index_1000,
class_index_1001_with_background), each model at the precisions asked for.
Used to report accuracy before and after post-training quantization (with
both precisions, also how many top-1 classes agree and the int8 logits'
signal-to-quantization-noise ratio against fp32 over all images, in dB):

  eval_top1.py --data ../shared/data/imagenet-dev MODEL.safetensors[:fp32|:int8] ...

A model given without a suffix runs at fp32 and, when it has
mnet.quantization, at int8 too. --library as for mnet_convert.py quantize."""

import argparse
import csv
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mnet_library  # noqa: E402
import post_training_quant  # noqa: E402

PRECISIONS = {"fp32": mnet_library.PRECISION_FP32, "int8": mnet_library.PRECISION_INT8}


def evaluate(lib, path, precision, rows, data_dir):
    _, metadata = post_training_quant.read_model(path)
    config = json.loads(metadata["mnet.config"])
    column = ("class_index_1001_with_background" if config["num_classes"] == 1001
              else "class_index_1000")
    size = (config["input"]["height"], config["input"]["width"])
    top1 = top5 = 0
    all_logits = []
    with mnet_library.Model(lib, path, PRECISIONS[precision], threads=1) as model:
        for row in rows:
            logits = model.logits(post_training_quant.load_rgb(os.path.join(data_dir,
                                                                            row["file"])), size)
            order = np.argsort(-logits, kind="stable")
            label = int(row[column])
            top1 += int(order[0] == label)
            top5 += int(label in order[:5])
            all_logits.append(logits.astype(np.float64))
    return top1, top5, np.array(all_logits)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", required=True, help="folder with labels.csv and the images")
    ap.add_argument("--library")
    args = ap.parse_args(argv)
    with open(os.path.join(args.data, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    lib = mnet_library.Library(args.library)
    for spec in args.models:
        path, _, precision = spec.partition(":")
        if precision:
            runs = [precision]
        else:
            _, metadata = post_training_quant.read_model(path)
            runs = ["fp32"] + (["int8"] if "mnet.quantization" in metadata else [])
        results = {}
        for p in runs:
            top1, top5, logits = evaluate(lib, path, p, rows, args.data)
            results[p] = logits
            print("%s %s: top-1 %d/%d (%.1f %%), top-5 %d/%d (%.1f %%)"
                  % (os.path.basename(path), p, top1, len(rows), 100.0 * top1 / len(rows), top5,
                     len(rows), 100.0 * top5 / len(rows)))
        if len(results) == 2:
            fp32, int8 = results["fp32"], results["int8"]
            same = int((fp32.argmax(axis=1) == int8.argmax(axis=1)).sum())
            noise = ((int8 - fp32) ** 2).sum()
            sqnr = 10 * np.log10((fp32 ** 2).sum() / noise) if noise > 0 else float("inf")
            print("%s: int8 and fp32 top-1 agree on %d/%d images; int8 logits SQNR %.1f dB"
                  % (os.path.basename(path), same, len(rows), sqnr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
