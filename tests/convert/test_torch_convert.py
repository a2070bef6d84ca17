#!/usr/bin/python3
"""PyTorch conversion: reference modules (tests/models/torch_mobilenet.py)
with random weights and BatchNorm statistics are saved as state dicts,
converted with the CLI, and the numpy forward pass of the converted file
must match the PyTorch forward pass (float64) to 1e-6 of the largest logit."""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import np_mobilenet
import st_read

try:
    import torch
    import torch_mobilenet
except ImportError:  # torch is optional for the converter, required here
    print("SKIP: torch is not available")
    sys.exit(env.SKIPPED)


class TorchConvertTest(unittest.TestCase):
    def convert_and_compare(self, module, architecture, size, padding, eps, seed):
        gen = torch.Generator().manual_seed(seed)
        torch_mobilenet.randomize(module, gen)
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "model.pth")
            torch.save(module.state_dict(), src)
            out = os.path.join(tmp, "model.safetensors")
            result = subprocess.run([sys.executable, env.CONVERTER, "torch", src, "-o", out,
                                     "--dtype", "f32", "--input-size", str(size), "--padding",
                                     padding, "--bn-eps", str(eps)], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            tensors, metadata, _ = st_read.read(out)
        config = st_read.read_json_metadata(metadata)["mnet.config"]
        self.assertEqual(config["architecture"], architecture)
        self.assertEqual(config["padding"], padding)
        self.assertEqual(config["input"]["height"], size)
        x = torch.randn(1, 3, size, size, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            want = module.double()(x)[0].numpy()
        got = np_mobilenet.mnet_forward(tensors, architecture, padding,
                                        x[0].permute(1, 2, 0).numpy())
        err = np.abs(got - want).max() / np.abs(want).max()
        self.assertLess(err, 1e-6, "relative error %g" % err)
        return config

    def test_v1_tf_same(self):
        config = self.convert_and_compare(
            torch_mobilenet.MobileNetV1(0.5, num_classes=17, padding="tf_same", eps=1e-3),
            "mobilenet_v1", 97, "tf_same", 1e-3, 1)
        self.assertEqual(config["depth_multiplier"], 0.5)
        self.assertEqual(config["num_classes"], 17)

    def test_v2_symmetric(self):
        config = self.convert_and_compare(
            torch_mobilenet.MobileNetV2(0.35, num_classes=10, padding="symmetric", eps=1e-5),
            "mobilenet_v2", 96, "symmetric", 1e-5, 2)
        self.assertEqual(config["depth_multiplier"], 0.35)
        self.assertEqual(config["last_channels"], 1280)

    def test_v2_wide_tf_same_odd_size(self):
        config = self.convert_and_compare(
            torch_mobilenet.MobileNetV2(1.4, num_classes=5, padding="tf_same", eps=1e-3),
            "mobilenet_v2", 65, "tf_same", 1e-3, 3)
        self.assertEqual(config["last_channels"], 1792)


if __name__ == "__main__":
    unittest.main()
