#!/usr/bin/python3
"""Post-training quantization (mnet_convert.py quantize): a random PyTorch
MobileNet V2 0.35 at 96x96 (10 classes) converted to float32, quantized to
int8 per-channel through the CLI with 8 synthetic calibration images, then run
by libmnet at fp32 and int8 on 6 other images. The int8 logits must follow the
fp32 ones: max |int8 - fp32| <= LOGIT_TOLERANCE x the largest |fp32 logit|
(measured: 0.03 for V2, 0.015 for V1), and the top-1 class must agree on most images. Also
checks the file's layout (I8 weights, I32 biases, per-channel scales,
activations for every plan tensor), the MobileNet V1 path, the bundled float
SSD and DeepLab models, a random DeepLabv3+ with separable atrous ASPP, and
that an unsupported architecture is refused with a clear error."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import safetensors_writer
import st_read

try:
    import torch
    import torch_deeplab
    import torch_mobilenet
    from PIL import Image
except ImportError:
    print("SKIP: torch or PIL is not available")
    sys.exit(env.SKIPPED)

try:
    import mnet_library
    LIBRARY = mnet_library.Library()
except Exception as exc:  # noqa: BLE001 - any load failure means: no library built
    print("SKIP: libmnet.so not loadable (%s)" % exc)
    sys.exit(env.SKIPPED)

SIZE = 96
LOGIT_TOLERANCE = 0.1
TOP1_MIN = 5  # of 6 images


def synthetic_images(folder, count, seed):
    """Smooth random RGB images (sums of gradients and blobs), 120x100 PNGs:
    they exercise the model's own crop and resize like photographs would."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    yy, xx = np.mgrid[0:100, 0:120].astype(np.float64)
    paths = []
    for i in range(count):
        img = np.zeros((100, 120, 3))
        for _ in range(4):
            cy, cx, r = rng.uniform(0, 100), rng.uniform(0, 120), rng.uniform(10, 50)
            img += rng.uniform(-1, 1, 3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2)[..., None]
        img += rng.uniform(-0.5, 0.5, 3) * (xx / 120.0)[..., None]
        img = (img - img.min()) / (img.max() - img.min() + 1e-9) * 255
        path = os.path.join(folder, "img%02d.png" % i)
        Image.fromarray(img.astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def torch_model(tmp, module, name, seed):
    torch_mobilenet.randomize(module, torch.Generator().manual_seed(seed))
    state = os.path.join(tmp, name + ".pth")
    torch.save(module.state_dict(), state)
    out = os.path.join(tmp, name + ".safetensors")
    result = subprocess.run([sys.executable, env.CONVERTER, "torch", state, "-o", out,
                             "--dtype", "f32", "--input-size", str(SIZE), "--padding", "tf_same",
                             "--bn-eps", "1e-3", "--mean", "127.5", "--std", "127.5"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("convert: %s" % result.stderr)
    return out


def torch_deeplab_v3plus(tmp, seed):
    """A random DeepLabv3+ (MobileNet V2 0.5, output stride 16, separable
    atrous ASPP, decoder from block3/expand), 97x113, converted to float32."""
    module = torch_deeplab.DeepLabV3(0.5, 5, 16, padding="tf_same", eps=1e-3, divisor=8,
                                     aspp="full", atrous_rates=[2, 4], separable=True,
                                     aspp_channels=32,
                                     decoder={"low_level_tap": "block3/expand",
                                              "low_level_channels": 24, "channels": 32,
                                              "concat": "aspp_first"})
    torch_mobilenet.randomize(module, torch.Generator().manual_seed(seed))
    state = os.path.join(tmp, "v3plus.pth")
    torch.save(module.state_dict(), state)
    out = os.path.join(tmp, "v3plus.safetensors")
    result = subprocess.run([sys.executable, env.CONVERTER, "torch", state, "-o", out,
                             "--dtype", "f32", "--input-size", "97", "113",
                             "--padding", "tf_same", "--bn-eps", "1e-3", "--mean", "127.5",
                             "--std", "127.5", "--output-stride", "16", "--activation", "relu",
                             "--atrous-rates", "2", "4", "--low-level-tap", "block3/expand",
                             "--decoder-concat", "aspp_first"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("convert: %s" % result.stderr)
    return out


def quantize(src, dst, calibration, images=0):
    args = [sys.executable, env.CONVERTER, "quantize", "--calibration", calibration, src, dst]
    if images:
        args[3:3] = ["--images", str(images)]
    return subprocess.run(args, capture_output=True, text=True)


class ConventionsTest(unittest.TestCase):
    """TFLite's post-training conventions, on hand-worked values."""

    def test_activation_params(self):
        import post_training_quant as ptq
        # ReLU6 output: scale 6/255 (float32), zero point -128
        self.assertEqual(ptq.choose_activation_params(0.0, 6.0), (float(np.float32(6 / 255)), -128))
        # the range always includes 0
        self.assertEqual(ptq.choose_activation_params(2.0, 6.0), (float(np.float32(6 / 255)), -128))
        self.assertEqual(ptq.choose_activation_params(-3.0, -1.0)[1], 127)
        # [-1, 1]: zero point -128 + 127.5 = -0.5 rounds away from zero (std::round) to -1,
        # as in Google's PTQ MobileNet V2 input
        self.assertEqual(ptq.choose_activation_params(-1.0, 1.0), (float(np.float32(2 / 255)), -1))

    def test_weights_and_bias(self):
        import post_training_quant as ptq
        w = np.array([[1.0, -0.5, 0.25], [0.0, 0.0, 0.0], [0.001, -0.002, 0.0]], np.float32)
        q, scales = ptq.quantize_weights(w)
        np.testing.assert_array_equal(q, [[127, -64, 32], [0, 0, 0], [64, -127, 0]])
        np.testing.assert_allclose(scales, [1 / 127, 1e-6, 0.002 / 127], rtol=1e-6)
        qb, bscales = ptq.quantize_bias(np.array([0.5, 0.0, -1e-4], np.float32), 0.1, scales)
        self.assertEqual(bscales.dtype, np.float32)
        np.testing.assert_allclose(bscales, np.float32(0.1) * scales)
        np.testing.assert_array_equal(qb, np.round(np.array([0.5, 0.0, -1e-4]) / bscales))


class QuantizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.calibration = os.path.join(cls.tmp.name, "calibration")
        synthetic_images(cls.calibration, 10, 1)
        cls.test_images = synthetic_images(os.path.join(cls.tmp.name, "test"), 6, 2)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def logits(self, path, precision):
        out = []
        with mnet_library.Model(LIBRARY, path, precision, threads=1) as model:
            for p in self.test_images:
                rgb = np.asarray(Image.open(p).convert("RGB"))
                out.append(model.logits(rgb, (SIZE, SIZE)).astype(np.float64))
        return np.array(out)

    def check_quantized(self, module, name, seed):
        src = torch_model(self.tmp.name, module, name, seed)
        dst = os.path.join(self.tmp.name, name + "_int8.safetensors")
        result = quantize(src, dst, self.calibration, images=8)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("on 8 images", result.stdout)
        tensors, metadata, _ = st_read.read(dst)
        quant = json.loads(metadata["mnet.quantization"])
        self.assertEqual(quant["scheme"], "int8_per_channel")
        self.assertEqual(quant["pool_op"], "mean")
        w = quant["tensors"]["conv0.weight"]
        self.assertEqual(tensors[w["raw"]].dtype, np.int8)
        self.assertEqual(len(w["scale"]), tensors["conv0.weight"].shape[0])
        self.assertEqual(set(w["zero_point"]), {0})
        self.assertEqual(tensors[quant["tensors"]["conv0.bias"]["raw"]].dtype, np.int32)
        # the float weights are kept as they were
        src_tensors, _, _ = st_read.read(src)
        np.testing.assert_array_equal(src_tensors["conv0.weight"], tensors["conv0.weight"])
        for key, q in quant["activations"].items():
            self.assertTrue(-128 <= q["zero_point"] <= 127, key)
            self.assertGreater(q["scale"], 0, key)
        self.assertEqual(quant["probabilities"], {"scale": 1.0 / 256.0, "zero_point": -128})
        self.check_quantized_softmax(dst)

        fp32 = self.logits(dst, mnet_library.PRECISION_FP32)
        np.testing.assert_allclose(fp32, self.logits(src, mnet_library.PRECISION_FP32))
        int8 = self.logits(dst, mnet_library.PRECISION_INT8)
        err = np.abs(int8 - fp32).max() / np.abs(fp32).max()
        same = int((int8.argmax(axis=1) == fp32.argmax(axis=1)).sum())
        print("%s: int8 vs fp32 logits: max relative error %.4f, top-1 same on %d/%d"
              % (name, err, same, len(fp32)))
        self.assertLess(err, LOGIT_TOLERANCE)
        self.assertGreaterEqual(same, TOP1_MIN)
        # not simply the float path: int8 logits sit on the output grid
        out_q = quant["output"]
        steps = int8 / out_q["scale"]
        self.assertLess(np.abs(steps - np.round(steps)).max(), 1e-2)
        return dst

    def check_quantized_softmax(self, path):
        """At int8 the classifier's scores come from the quantized softmax:
        multiples of 1/256 (at fp32 they are not)."""
        mnet = os.path.join(os.environ.get("MNET_BUILD_DIR", ""), "mnet")
        if not os.path.exists(mnet):
            return
        scores = {}
        for precision in ("int8", "fp32"):
            result = subprocess.run([mnet, "classify", "--json", "-k", "3", "--precision",
                                     precision, "-m", path, self.test_images[0]],
                                    capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            scores[precision] = [t["score"] for t in json.loads(result.stdout)["top"]]
        steps = np.array(scores["int8"]) * 256
        self.assertLess(np.abs(steps - np.round(steps)).max(), 1e-3, scores["int8"])
        steps = np.array(scores["fp32"]) * 256
        self.assertGreater(np.abs(steps - np.round(steps)).max(), 1e-3, scores["fp32"])

    def test_v2_random(self):
        self.check_quantized(torch_mobilenet.MobileNetV2(0.35, num_classes=10, padding="tf_same",
                                                         eps=1e-3), "v2", 5)

    def test_v1_random(self):
        self.check_quantized(torch_mobilenet.MobileNetV1(0.25, num_classes=10, padding="tf_same",
                                                         eps=1e-3), "v1", 6)

    def test_errors(self):
        missing = quantize(os.path.join(self.tmp.name, "nope.safetensors"),
                           os.path.join(self.tmp.name, "x.safetensors"), self.calibration)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("mnet_convert.py: error:", missing.stderr)
        src = torch_model(self.tmp.name, torch_mobilenet.MobileNetV1(0.25, num_classes=10,
                                                                    padding="tf_same", eps=1e-3),
                          "v1e", 7)
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty, exist_ok=True)
        result = quantize(src, os.path.join(self.tmp.name, "y.safetensors"), empty)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no .jpg/.png images", result.stderr)
        other = os.path.join(self.tmp.name, "resnet.safetensors")
        safetensors_writer.write_safetensors(
            other, {"w": np.zeros(4, np.float32)},
            {"format": "mnet", "mnet.config": json.dumps({"architecture": "resnet"})})
        result = quantize(other, os.path.join(self.tmp.name, "z.safetensors"), self.calibration)
        self.assertEqual(result.returncode, 1)
        self.assertIn("supports MobileNet V1/V2 classifiers, SSD and DeepLabv3; this is resnet",
                      result.stderr)

    def check_bundled_head_model(self, name, tolerance, mean_tolerance):
        """A bundled float SSD / DeepLab model quantized on 4 synthetic images:
        output 0 (SSD: class scores of the last map; DeepLab: logits) at int8
        follows fp32: max |int8 - fp32| within `tolerance` and the mean within
        `mean_tolerance` x the largest |fp32| (measured with these synthetic
        images: SSD max 0.073, mean 0.018; DeepLab max 0.17, mean 0.040. With
        40 real calibration images DeepLab's masks agree on 99.5 % of pixels)."""
        src = os.path.join(env.SOURCE_DIR, "models", name)
        if not os.path.exists(src):
            self.skipTest("%s not bundled" % name)
        self.check_head_model(src, name, tolerance, mean_tolerance)

    def check_head_model(self, src, name, tolerance, mean_tolerance):
        """src quantized on 4 synthetic images; output 0 at int8 follows fp32
        (see check_bundled_head_model)."""
        dst = os.path.join(self.tmp.name, "q_" + name)
        result = quantize(src, dst, self.calibration, images=4)
        self.assertEqual(result.returncode, 0, result.stderr)
        _, metadata, _ = st_read.read(dst)
        config = json.loads(metadata["mnet.config"])
        size = (config["input"]["height"], config["input"]["width"])
        outputs = {}
        for precision in (mnet_library.PRECISION_FP32, mnet_library.PRECISION_INT8):
            with mnet_library.Model(LIBRARY, dst, precision, threads=1) as model:
                rgb = np.asarray(Image.open(self.test_images[0]).convert("RGB"))
                outputs[precision] = model.logits(rgb, size).astype(np.float64)
        fp32, int8 = outputs[mnet_library.PRECISION_FP32], outputs[mnet_library.PRECISION_INT8]
        err = np.abs(int8 - fp32).max() / np.abs(fp32).max()
        mean_err = np.abs(int8 - fp32).mean() / np.abs(fp32).max()
        print("%s: int8 vs fp32 output 0: relative error max %.4f, mean %.4f"
              % (name, err, mean_err))
        self.assertLess(err, tolerance)
        self.assertLess(mean_err, mean_tolerance)
        self.assertFalse(np.array_equal(int8, fp32))  # the int8 path did run

    def test_ssd_bundled(self):
        self.check_bundled_head_model("ssd_mobilenet_v2_oidv4.safetensors", 0.15, 0.04)

    def test_deeplab_bundled(self):
        self.check_bundled_head_model("deeplabv3_mnv2_dm0.5_257_pascal.safetensors", 0.3, 0.08)

    def test_deeplab_v3plus_random(self):
        """The decoder (concatenation of upsampled ASPP and low-level
        features, 3x3 convolutions) and the separable atrous ASPP quantize
        too: the quantizer follows the library's plan, not a list of names
        (measured: max 0.014, mean 0.003 of the largest |fp32 logit|)."""
        src = torch_deeplab_v3plus(self.tmp.name, 31)
        self.check_head_model(src, "v3plus.safetensors", 0.05, 0.015)


if __name__ == "__main__":
    unittest.main()
