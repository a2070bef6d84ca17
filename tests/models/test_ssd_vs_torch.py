#!/usr/bin/python3
"""mnet SSD / SSDLite against PyTorch.

Reference detectors (tests/models/torch_ssd.py: MobileNet V1 / V2 backbones,
TF-style feature taps, extra layers, 1x1 / 3x3 / SSDLite predictors) with
random weights and random BatchNorm statistics, at square and non-square
input sizes and both padding conventions, are converted by the torch path
of tools/convert into fp32 and fp16 files. mnet computes every predictor
output: the session is created with the taps head{l}/box and head{l}/class
and mnet_features runs it on the input given as a planar float image of the
network's size (so preprocessing only normalizes, exactly); mnet_run on the
normalized input must reproduce output 0, the last class head. Each tensor
is compared with the module run in float64 on the same input:

    error = max |mnet - torch| / max |torch|   per predictor output

fp32 files: error <= 1e-4; fp16 files: error <= 1e-2 (that includes the
fp16 rounding of the stored weights)."""

import unittest

import torch_case  # first: skips the script when torch is missing
import torch_mobilenet
import torch_ssd
from torch_case import torch

# (family, dm, (height, width), padding, predictor, depthwise extras, extra layers, seed)
CASES = [
    ("v1", 0.75, (300, 300), "tf_same", "conv1x1", False,
     [[192, 384], [96, 192], [96, 192], [48, 96]], 11),
    ("v2", 1.0, (300, 300), "tf_same", "conv1x1", False,
     [[256, 512], [128, 256], [128, 256], [64, 128]], 12),
    ("v2", 0.5, (257, 193), "symmetric", "depthwise3x3", True, [[128, 256], [64, 128]], 13),
    ("v1", 0.5, (161, 224), "symmetric", "conv3x3", False, [[64, 128], [32, 64], [32, 64]], 14),
    ("v2", 0.75, (320, 240), "tf_same", "conv1x1", True, [[96, 192], [48, 96], [48, 96]], 15),
]


class SsdVsTorchTest(torch_case.MnetTorchCase):
    def test_predictor_outputs_match_torch(self):
        report = []
        for family, dm, size, padding, predictor, lite, extras, seed in CASES:
            gen = torch.Generator().manual_seed(seed)
            classes = int(torch.randint(2, 100, (1,), generator=gen))
            per_location = [3] + [6] * (1 + len(extras))
            eps = torch_case.bn_eps(padding)
            module = torch_ssd.SSD(family, dm, classes + 1, extras, per_location,
                                   predictor=predictor, lite=lite, padding=padding, eps=eps)
            torch_mobilenet.randomize(module, gen)
            pixels, x = torch_case.random_pixels(gen, *size)
            with torch.no_grad():
                want = module.double()(x)
            module = module.float()
            taps = []
            for l in range(len(want)):
                taps += ["head%d/box" % l, "head%d/class" % l]
            normalized = torch_case.nhwc(x)
            tag = "ssd_%s_%g_%dx%d_%s_%s" % (family, dm, size[0], size[1], padding, predictor)
            for dtype, tolerance, path in self.converted(module, tag, size, padding, eps):
                for threads in torch_case.THREADS:
                    got = self.mnet.run_taps(path, pixels, taps, normalized, self.isa, threads)
                    worst = 0.0
                    for l, (box, cls) in enumerate(want):
                        for part, tensor in (("box", box), ("class", cls)):
                            name = "head%d/%s" % (l, part)
                            ref = torch_case.nhwc(tensor)
                            with self.subTest(case=tag, dtype=dtype, threads=threads, tap=name):
                                self.assertEqual(got[name].shape, ref.shape)
                                error = torch_case.relative_error(got[name], ref)
                                self.assertLess(error, tolerance, "%s %s: error %.2e"
                                                % (tag, name, error))
                                worst = max(worst, error)
                    last = torch_case.nhwc(want[-1][1])
                    with self.subTest(case=tag, dtype=dtype, threads=threads, tap="output 0"):
                        self.assertEqual(got[None].shape, last.shape)
                        self.assertLess(torch_case.relative_error(got[None], last), tolerance)
                    report.append("%-40s %s threads %-3s: worst head error %.2e (limit %g)"
                                  % (tag, dtype, threads or "all", worst, tolerance))
        print("\n" + "\n".join(report))


if __name__ == "__main__":
    unittest.main()
