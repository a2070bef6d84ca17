#!/usr/bin/python3
"""mnet DeepLabv3 / v3+ against PyTorch.

Reference segmenters (tests/models/torch_deeplab.py: dilated MobileNet V2 at
output stride 8 / 16, mobile ASPP and full ASPP with atrous rates, regular
and separable, v3+ decoder in both concatenation orders, ReLU and ReLU6,
both resize conventions, TF-slim's divisor-1 widths) with random weights and
random BatchNorm statistics, at square and non-square sizes and both padding
conventions, are converted by the torch path of tools/convert into fp32 and
fp16 files; mnet runs the normalized input (mnet_run) and output 0, the
low-resolution logits, is compared with the module run in float64:

    error = max |mnet - torch| / max |torch|

fp32 files: error <= 1e-4; fp16 files: error <= 1e-2."""

import unittest

import torch_case  # first: skips the script when torch is missing
import torch_deeplab
import torch_mobilenet
from torch_case import torch

DECODER = {"low_level_tap": "block3/expand", "low_level_channels": 48, "channels": 64,
           "concat": "aspp_first"}
# (dm, divisor, size, padding, output stride, kwargs, seed)
CASES = [
    (0.5, 1, (97, 97), "tf_same", 8, {}, 21),
    (1.0, 8, (129, 161), "tf_same", 16, {"activation": "relu6"}, 22),
    (0.5, 8, (113, 145), "symmetric", 16,
     {"aspp": "full", "atrous_rates": [2, 4, 6], "aspp_channels": 64}, 23),
    (0.75, 8, (105, 89), "tf_same", 8,
     {"aspp": "full", "atrous_rates": [3, 5], "separable": True, "aspp_channels": 48,
      "decoder": dict(DECODER, concat="low_level_first"), "align_corners": False}, 24),
    (1.0, 8, (81, 120), "tf_same", 16,
     {"decoder": dict(DECODER, low_level_tap="block2/depthwise"), "aspp_channels": 96}, 25),
]


def converter_args(output_stride, kwargs):
    args = ["--output-stride", output_stride,
            "--activation", kwargs.get("activation", "relu"),
            "--align-corners", "true" if kwargs.get("align_corners", True) else "false"]
    if kwargs.get("atrous_rates"):
        args += ["--atrous-rates"] + list(kwargs["atrous_rates"])
    decoder = kwargs.get("decoder")
    if decoder:
        args += ["--low-level-tap", decoder["low_level_tap"], "--decoder-concat",
                 decoder["concat"]]
    return args


class DeeplabVsTorchTest(torch_case.MnetTorchCase):
    def test_logits_match_torch(self):
        report = []
        for dm, divisor, size, padding, output_stride, kwargs, seed in CASES:
            gen = torch.Generator().manual_seed(seed)
            classes = int(torch.randint(2, 30, (1,), generator=gen))
            eps = torch_case.bn_eps(padding)
            module = torch_deeplab.DeepLabV3(dm, classes, output_stride, padding=padding,
                                             eps=eps, divisor=divisor, **kwargs)
            torch_mobilenet.randomize(module, gen)
            _, x = torch_case.random_pixels(gen, *size)
            with torch.no_grad():
                want = torch_case.nhwc(module.double()(x))
            module = module.float()
            tag = "deeplab_%g_d%d_%dx%d_%s_os%d_%d" % (dm, divisor, size[0], size[1], padding,
                                                      output_stride, seed)
            for dtype, tolerance, path in self.converted(module, tag, size, padding, eps,
                                                         converter_args(output_stride, kwargs)):
                for threads in torch_case.THREADS:
                    got = self.mnet.run_model(path, torch_case.nhwc(x), self.isa, threads)
                    with self.subTest(case=tag, dtype=dtype, threads=threads):
                        self.assertEqual(got.size, want.size)
                        error = torch_case.relative_error(got.reshape(want.shape), want)
                        report.append("%-44s %s threads %-3s: error %.2e (limit %g)"
                                      % (tag, dtype, threads or "all", error, tolerance))
                        self.assertLess(error, tolerance, report[-1])
        print("\n" + "\n".join(report))


if __name__ == "__main__":
    unittest.main()
