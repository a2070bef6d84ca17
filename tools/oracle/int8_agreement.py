#!/usr/bin/python3
"""How closely mnet's int8 classifiers reproduce the Arm NN CpuRef fixtures
(tests/fixtures/armnn), and which softmax arithmetic does it better.

For every fixture image the exact uint8 tensor Arm NN was fed is rebuilt
with the oracle's preprocessing (checked against the record's input_sha256),
run through mnet (precision INT8), and compared value by value:

  session   the int8 session's uint8 probabilities (what mnet_classify uses)
  fixed     TFLite's fixed-point uint8 softmax (mnet_q8_softmax_fixed) of
            mnet's uint8 logits
  float     Arm NN's float softmax (mnet_q8_softmax_float) of mnet's logits

With --armnn-logits FILE.npz (uint8 logits Arm NN computed for the same
images before its SOFTMAX, keyed by file name; see docs/INT8.md for how they
were produced) it also reports how many logits are equal, and both softmax
arithmetics applied to Arm NN's own logits: the pure softmax disagreement.

  MNET_BUILD_DIR=build-x tools/oracle/int8_agreement.py [--armnn-logits v2.npz] v2
"""
import argparse
import ctypes
import os
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "int8"))
sys.path.insert(0, os.path.join(REPO, "tools", "oracle"))

import test_int8_vs_armnn as harness  # noqa: E402
from fixture_codec import b64_array, read_fixture  # noqa: E402
from oracle_harness import (ARMNN_FIXTURES, SHARED, Agreement, classification_inputs,  # noqa: E402
                            top1, untied)


class SoftmaxParams(ctypes.Structure):
    _fields_ = [("input_scale", ctypes.c_float), ("beta", ctypes.c_float),
                ("input_zero_point", ctypes.c_int32), ("input_multiplier", ctypes.c_int32),
                ("input_left_shift", ctypes.c_int), ("diff_min", ctypes.c_int32)]


def softmax_functions(lib, scale, zero_point):
    params = SoftmaxParams()
    lib.mnet_q8_softmax_params_init.argtypes = [ctypes.c_float, ctypes.c_int32, ctypes.c_float,
                                                ctypes.POINTER(SoftmaxParams)]
    if lib.mnet_q8_softmax_params_init(scale, zero_point, 1.0, ctypes.byref(params)):
        raise RuntimeError("softmax parameters rejected")

    def make(fn):
        fn.argtypes = [ctypes.POINTER(SoftmaxParams), ctypes.c_void_p, ctypes.c_size_t,
                       ctypes.c_void_p]

        def apply(logits):
            q = np.ascontiguousarray(logits, np.uint8)
            out = np.zeros_like(q)
            fn(ctypes.byref(params), q.ctypes.data, q.size, out.ctypes.data)
            return out
        return apply
    return make(lib.mnet_q8_softmax_fixed), make(lib.mnet_q8_softmax_float)


class Tally(Agreement):
    def add(self, mine, theirs):
        super().add(mine, theirs, compare_top1=False)

    def text(self):
        return "%d/%d equal (%.3f %%), max diff %d, images entirely equal %d" % (
            self.equal, self.total, 100.0 * self.rate(), self.worst, self.identical)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["v1", "v2"])
    ap.add_argument("--armnn-logits")
    args = ap.parse_args()
    name, fixture_name, tflite, _ = harness.MODELS[0 if args.model == "v1" else 1]
    fixture = read_fixture(ARMNN_FIXTURES, fixture_name)
    wrapper = harness.mnet_ctypes.Mnet()
    with tempfile.TemporaryDirectory() as tmp:
        path = harness.model_file(name, tflite, tmp)
        if path is None:
            print("model missing")
            return 1
        quant = harness.quantization(path)
        runner = harness.Runner(wrapper, path)
        fixed, flt = softmax_functions(wrapper.lib, quant["output"]["scale"],
                                       quant["output"]["zero_point"])
        armnn_logits = dict(np.load(args.armnn_logits)) if args.armnn_logits else {}
        tallies = {k: Tally() for k in ("session", "fixed", "float", "logits", "armnn_fixed",
                                        "armnn_float")}
        top1_same = [0, 0]
        data_dir = os.path.join(SHARED, "data", "imagenet-dev")
        for rec, pixels in classification_inputs(fixture["images"], data_dir):
            theirs = b64_array(rec["output_uint8_b64"], np.uint8)
            probabilities, logits = runner.run_pixels(pixels, quant["input"])
            tallies["session"].add(probabilities, theirs)
            tallies["fixed"].add(fixed(logits), theirs)
            tallies["float"].add(flt(logits), theirs)
            if untied(theirs):
                top1_same[1] += 1
                top1_same[0] += int(top1(probabilities) == top1(theirs))
            if rec["file"] in armnn_logits:
                a = armnn_logits[rec["file"]]
                tallies["logits"].add(logits, a)
                tallies["armnn_fixed"].add(fixed(a), theirs)
                tallies["armnn_float"].add(flt(a), theirs)
        runner.close()
    print("%s (%s)" % (name, os.environ.get("MNET_BUILD_DIR", "build")))
    print("  session probabilities vs Arm NN: " + tallies["session"].text())
    print("  top-1 identical on %d/%d images with an untied Arm NN maximum" % tuple(top1_same))
    print("  TFLite fixed-point softmax of mnet's logits: " + tallies["fixed"].text())
    print("  float (Arm NN) softmax of mnet's logits:     " + tallies["float"].text())
    if tallies["logits"].total:
        print("  uint8 logits, mnet vs Arm NN: " + tallies["logits"].text())
        print("  TFLite fixed-point softmax of Arm NN's logits: " + tallies["armnn_fixed"].text())
        print("  float softmax of Arm NN's logits:              " + tallies["armnn_float"].text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
