#!/usr/bin/python3
"""mnet against PyTorch on whole networks.

MobileNet V1 and V2 reference modules (tests/models/torch_mobilenet.py) at
several depth multipliers, input sizes (even and odd) and both padding
conventions, with random weights and random BatchNorm statistics, are
converted by the torch path of tools/convert into fp32 and fp16 files; mnet
runs them (mnet_model_load, mnet_session_create, mnet_run on a normalized NHWC
input, mnet_output) and the logits are compared with the PyTorch module run
in float64 on the same input, with the module's own (unrounded) weights:

    error = max_i |mnet_i - torch_i| / max_i |torch_i|

fp32 files: error <= 1e-4 (fp32 storage + fp32 arithmetic).
fp16 files: error <= 1e-2 against that same float64 run with the original
weights, so it covers the fp16 rounding of the stored weights too.
Each file runs single-threaded and with the default thread count (all
CPUs): the work split must not change the results beyond these limits.
MNET_ISA, when set, is passed on as the kernel set."""

import time
import unittest

import numpy as np

import torch_case  # first: skips the script when torch is missing
import torch_mobilenet
from torch_case import torch

# (family, depth multiplier, input size, padding, seed)
CASES = [
    ("v1", 0.25, 224, "tf_same", 1),
    ("v1", 1.0, 160, "symmetric", 2),
    ("v1", 0.25, 193, "symmetric", 3),
    ("v1", 1.0, 193, "tf_same", 4),
    ("v2", 0.35, 193, "tf_same", 5),
    ("v2", 1.0, 224, "symmetric", 6),
    ("v2", 1.4, 160, "tf_same", 7),
    ("v2", 1.0, 193, "symmetric", 8),
]


def build_module(family, dm, padding, classes):
    eps = torch_case.bn_eps(padding)
    if family == "v1":
        return torch_mobilenet.MobileNetV1(dm, classes, padding=padding, eps=eps), eps
    return torch_mobilenet.MobileNetV2(dm, classes, padding=padding, eps=eps), eps


class NetworksVsTorchTest(torch_case.MnetTorchCase):
    def test_logits_match_torch(self):
        report = []
        for family, dm, size, padding, seed in CASES:
            gen = torch.Generator().manual_seed(seed)
            classes = int(torch.randint(5, 1001, (1,), generator=gen))
            module, eps = build_module(family, dm, padding, classes)
            torch_mobilenet.randomize(module, gen)
            x = torch.rand(1, 3, size, size, generator=gen, dtype=torch.float64) * 2 - 1
            x = x.float().double()  # the exact values mnet receives as float32
            with torch.no_grad():
                want = module.double()(x)[0].numpy()
            module = module.float()  # converted in float32, as trained models are stored
            nhwc = torch_case.nhwc(x)
            tag = "%s_%g_%d_%s" % (family, dm, size, padding)
            for dtype, tolerance, path in self.converted(module, tag, (size, size), padding, eps):
                for threads in torch_case.THREADS:
                    start = time.time()
                    got = self.mnet.run_model(path, nhwc, self.isa, threads)
                    seconds = time.time() - start
                    with self.subTest(family=family, dm=dm, size=size, padding=padding,
                                      dtype=dtype, threads=threads):
                        self.assertEqual(got.shape, want.shape)
                        error = np.abs(got - want).max() / np.abs(want).max()
                        report.append("%s dm %-4g %3d %-9s %s threads %s: error %.2e (limit %g), "
                                      "%.2f s" % (family, dm, size, padding, dtype,
                                                  threads or "all", error, tolerance, seconds))
                        self.assertLess(error, tolerance, report[-1])
        print("\n" + "\n".join(report))


if __name__ == "__main__":
    unittest.main()
