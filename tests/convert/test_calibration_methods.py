#!/usr/bin/python3
"""The activation-range choices of post-training quantization
(mnet_convert.py quantize --method minmax|percentile|mse): the range pickers
on histograms whose answer is known, the MSE picker against a brute-force
quantization of the samples themselves, and the whole command on the bundled
float MobileNet V1 0.75 with every method (ranges only ever narrowed from the
extremes, int8 logits still following fp32)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import post_training_quant as ptq
import st_read

BUNDLED_FLOAT = os.path.join(env.SOURCE_DIR, "models", "mobilenet_v1_0.75_224.safetensors")
CALIBRATION = os.path.join(env.SHARED_DIR, "data", "coco-dev", "images")
EVAL = os.path.join(env.SHARED_DIR, "data", "imagenet-dev")


def histogram(samples):
    lo, hi = float(samples.min()), float(samples.max())
    return np.histogram(samples, ptq.HISTOGRAM_BINS, (lo, hi))[0], lo, hi


def quantization_mse(samples, lo, hi):
    """Mean squared error of quantizing the samples to 256 levels on [lo, hi]
    (widened to 0) with clipping: what mse_range estimates from the histogram."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    step = (hi - lo) / 255.0
    q = np.clip(np.round((samples - lo) / step), 0, 255) * step + lo
    return float(((q - samples) ** 2).mean())


class RangePickerTest(unittest.TestCase):
    def test_percentile_of_uniform_values(self):
        counts = np.full(1000, 10, np.int64)  # 10 values in each unit bin of [0, 1000)
        lo, hi = ptq.percentile_range(counts, 0.0, 1000.0, 99.0)
        self.assertAlmostEqual(lo, 10.0)
        self.assertAlmostEqual(hi, 990.0)
        self.assertEqual(ptq.percentile_range(counts, 0.0, 1000.0, 100.0), (0.0, 1000.0))

    def test_percentile_ignores_a_far_outlier(self):
        rng = np.random.default_rng(5)
        samples = np.concatenate([rng.normal(0, 1, 200000), [80.0]])
        lo, hi = ptq.percentile_range(*histogram(samples), 99.99)
        self.assertLess(hi, 6.0)
        self.assertGreater(hi, 3.0)
        self.assertLess(lo, -3.0)

    def test_mse_clips_outliers_and_beats_the_extremes(self):
        rng = np.random.default_rng(6)
        # one outlier among a million: clipping it costs (25 - ~4.5)^2 ~ 420 in
        # total, keeping it widens every other value's step: 1e6 x (29/255)^2 / 12 ~ 1080
        samples = np.concatenate([rng.normal(0.5, 1, 1000000), [25.0]])
        lo, hi = ptq.mse_range(*histogram(samples))
        self.assertLess(hi, 12.0)  # about 9: the outlier's clipping pulls it up from ~5
        self.assertLess(quantization_mse(samples, lo, hi),
                        0.7 * quantization_mse(samples, samples.min(), samples.max()))
        # twenty such outliers cost more clipped than kept: the range reaches them
        crowded = np.concatenate([samples, rng.uniform(20, 30, 20)])
        self.assertGreater(ptq.mse_range(*histogram(crowded))[1], 20.0)

    def test_mse_keeps_a_range_that_is_used_evenly(self):
        rng = np.random.default_rng(7)
        samples = rng.uniform(-2, 6, 100000)
        lo, hi = ptq.mse_range(*histogram(samples))
        self.assertGreater(hi, 5.5)
        self.assertLess(lo, -1.8)

    def test_mse_of_one_sided_values_starts_at_zero(self):
        rng = np.random.default_rng(8)
        samples = rng.exponential(1.0, 100000)  # a ReLU output without its zeros
        lo, hi = ptq.mse_range(*histogram(samples))
        self.assertEqual(lo, 0.0)
        self.assertLess(hi, samples.max())
        self.assertLessEqual(quantization_mse(samples, lo, hi),
                             quantization_mse(samples, 0.0, samples.max()))


class QuantizeCommandTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in (BUNDLED_FLOAT, CALIBRATION, EVAL):
            if not os.path.exists(path):
                raise unittest.SkipTest("missing %s" % path)
        try:
            import mnet_library
            cls.library = mnet_library.Library()
        except Exception as exc:  # noqa: BLE001 - any load failure means: no library built
            raise unittest.SkipTest("libmnet.so not loadable (%s)" % exc)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.models = {}
        for method in ptq.METHODS:
            out = os.path.join(cls.tmp.name, method + ".safetensors")
            # 6 images give the pooled features ~4600 values: 99.9 % clips a few
            extra = ["--percentile", "99.9"] if method == "percentile" else []
            result = subprocess.run([sys.executable, env.CONVERTER, "quantize", "--method", method,
                                     "--images", "6", "--calibration", CALIBRATION,
                                     BUNDLED_FLOAT, out] + extra, capture_output=True, text=True)
            if result.returncode != 0:
                raise AssertionError("quantize --method %s: %s" % (method, result.stderr))
            cls.models[method] = out

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def activations(self, method):
        _, metadata, _ = st_read.read(self.models[method])
        quant = json.loads(metadata["mnet.quantization"])
        self.assertIn(method if method != "percentile" else "percentile 99.9 ", quant["source"])
        return quant["activations"]

    def test_ranges_only_narrow(self):
        extremes = self.activations("minmax")
        for method in ("percentile", "mse"):
            chosen = self.activations(method)
            self.assertEqual(set(chosen), set(extremes))
            narrower = 0
            for key, q in chosen.items():
                self.assertLessEqual(q["scale"], extremes[key]["scale"] * (1 + 1e-6), key)
                narrower += q["scale"] < extremes[key]["scale"] * (1 - 1e-3)
            # the network's linear outputs (pooling, logits) have tails to clip
            self.assertGreater(narrower, 0, method)

    def test_int8_follows_fp32(self):
        import mnet_library
        images = sorted(f for f in os.listdir(EVAL) if f.endswith(".JPEG"))[:4]
        rgbs = [ptq.load_rgb(os.path.join(EVAL, f)) for f in images]
        with mnet_library.Model(self.library, BUNDLED_FLOAT, mnet_library.PRECISION_FP32,
                                threads=1) as model:
            fp32 = np.array([model.logits(rgb, (224, 224)) for rgb in rgbs], np.float64)
        for method, path in self.models.items():
            with mnet_library.Model(self.library, path, mnet_library.PRECISION_INT8,
                                    threads=1) as model:
                int8 = np.array([model.logits(rgb, (224, 224)) for rgb in rgbs], np.float64)
            sqnr = 10 * np.log10((fp32 ** 2).sum() / ((int8 - fp32) ** 2).sum())
            print("%s: int8 vs fp32 logits SQNR %.1f dB" % (method, sqnr))
            # all three measure 15-16 dB on these images (tools/convert/eval_top1.py)
            self.assertGreater(sqnr, 12.0, method)

    def test_bad_method_and_percentile(self):
        for args, message in ((["--method", "entropy"], "invalid choice"),
                              (["--method", "percentile", "--percentile", "30"], "percentile")):
            result = subprocess.run([sys.executable, env.CONVERTER, "quantize"] + args +
                                    ["--calibration", CALIBRATION, BUNDLED_FLOAT,
                                     os.path.join(self.tmp.name, "bad.safetensors")],
                                    capture_output=True, text=True)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)


if __name__ == "__main__":
    unittest.main()
