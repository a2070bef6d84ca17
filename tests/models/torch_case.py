"""Shared steps of the whole-network tests against PyTorch: the test case
base class (libmnet, MNET_ISA, a scratch folder, converting a random module
through tools/convert/mnet_convert.py to every stored dtype), an input whose
normalization is exact in float32, and the relative error measure.

Importing it skips the whole script (exit 77) when torch is missing, so a
test imports it before torch or the reference modules."""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

SKIPPED = 77  # CTest's skip code

try:
    import torch
except ImportError:
    print("SKIP: torch is not available")
    sys.exit(SKIPPED)

import mnet_ctypes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
CONVERTER = os.path.join(SOURCE, "tools", "convert", "mnet_convert.py")

# Network input = (pixel - MEAN) / STD; pixels are multiples of 1/256, so the
# normalized values are exact in float32 whatever order the C side computes in.
MEAN, STD = 128.0, 64.0
FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 1e-2
# Every stored dtype and its limit on the relative error: fp16 files are
# compared with the same float64 run, so the limit covers the rounding of
# the stored weights too.
DTYPES = (("f32", FP32_TOLERANCE), ("f16", FP16_TOLERANCE))
# Each file runs single-threaded and with the default thread count (all
# CPUs): the work split must not change the results beyond the limits.
THREADS = (1, 0)


class MnetTorchCase(unittest.TestCase):
    """Loads libmnet once per test class (the whole script is skipped when it
    cannot be loaded), reads MNET_ISA, and keeps a scratch folder."""

    @classmethod
    def setUpClass(cls):
        try:
            cls.mnet = mnet_ctypes.Mnet()
        except OSError as exc:
            print("SKIP: libmnet.so not loadable (%s)" % exc)
            raise SystemExit(SKIPPED)
        cls.isa = os.environ.get("MNET_ISA") or None
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def converted(self, module, tag, size, padding, eps, extra_args=()):
        """Converts the (float32) module into the scratch folder once per
        dtype; yields (dtype, tolerance, path)."""
        for dtype, tolerance in DTYPES:
            yield dtype, tolerance, convert(module, self.tmp.name, tag, dtype, size, padding, eps,
                                            extra_args)


def bn_eps(padding):
    """BatchNorm epsilon as the framework of that padding convention uses it."""
    return 1e-3 if padding == "tf_same" else 1e-5


def random_pixels(generator, height, width):
    """(pixels H x W x 3 in 0..255, normalized input as a float64 NCHW tensor)."""
    steps = torch.randint(0, 256 * 256, (height, width, 3), generator=generator)
    pixels = steps.double() / 256.0
    x = ((pixels - MEAN) / STD).permute(2, 0, 1).unsqueeze(0).contiguous()
    return pixels.numpy(), x


def convert(module, folder, tag, dtype, size, padding, eps, extra_args):
    """Saves the module's float32 state dict and converts it; returns the path."""
    state = os.path.join(folder, "%s.pth" % tag)
    torch.save(module.state_dict(), state)
    path = os.path.join(folder, "%s_%s.safetensors" % (tag, dtype))
    result = subprocess.run(
        [sys.executable, CONVERTER, "torch", state, "-o", path, "--dtype", dtype,
         "--input-size", str(size[0]), str(size[1]), "--padding", padding, "--bn-eps", str(eps),
         "--mean", str(MEAN), "--std", str(STD)] + [str(a) for a in extra_args],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("mnet_convert failed: %s" % result.stderr)
    return path


def nhwc(tensor):
    return tensor[0].permute(1, 2, 0).numpy()


def relative_error(got, want):
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
