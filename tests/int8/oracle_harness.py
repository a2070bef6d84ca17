"""What the int8 tests against the oracles (Arm NN CpuRef and TFLite fixtures,
tools/oracle) share: where the sources, the build, the shared data and the
fixtures are (and the tool folders they import from, put on sys.path), one
tally of failed checks, the classifiers' rebuilt exact inputs and the
element-wise agreement of quantized vectors.

The tests are scripts run by CTest; Python puts a script's own folder first on
sys.path, so `import oracle_harness` finds this file. The tally is this
module's, so a check made in a helper another test module lends counts too."""

import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
BUILD = os.environ.get("MNET_BUILD_DIR", os.path.join(SOURCE, "build"))
ARMNN_FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "armnn")
TFLITE_FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "tflite")
for folder in (("tests", "models"), ("tools", "oracle"), ("tools", "eval")):
    sys.path.insert(0, os.path.join(SOURCE, *folder))

SKIPPED = 77  # CTest's skip code
failures = []


def skip(why):
    """Ends the script as skipped."""
    print("%s: skipped" % why)
    sys.exit(SKIPPED)


def open_library():
    """The tests' binding of libmnet.so (mnet_ctypes.Mnet); skips without it."""
    import mnet_ctypes
    try:
        return mnet_ctypes.Mnet()
    except OSError as e:
        skip("libmnet.so not found (%s)" % e)


def require_pil():
    """Skips unless PIL (the oracle's preprocessing) is installed."""
    if importlib.util.find_spec("PIL") is None:
        skip("PIL missing")


def check(ok, message):
    """Remembers a failed check (and prints it at once)."""
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def top1(scores):
    return int(np.argmax(scores))  # first maximum = lowest index on ties


def untied(scores):
    """Whether the maximum stands alone (top-1 is only compared then)."""
    return int((scores == scores.max()).sum()) == 1


def classification_inputs(images, data_dir):
    """(record, uint8 HWC tensor) for each fixture record whose image, through
    the oracle's PIL preprocessing, gives exactly the tensor the oracle was fed
    (its input_sha256); the others are named and passed over."""
    import armnn_fixtures  # the oracle's preprocessing (PIL); pyarmnn is not needed
    for rec in images:
        path = os.path.join(data_dir, rec["file"])
        if not os.path.exists(path):
            print("  %s: missing, skipped" % rec["file"])
            continue
        pixels = armnn_fixtures.classification_input(path)
        if armnn_fixtures.sha256_bytes(pixels.tobytes()) != rec["input_sha256"]:
            print("  %s: PIL no longer gives the fixture's input tensor, skipped" % rec["file"])
            continue
        yield rec, pixels


class Agreement:
    """Element-wise agreement of pairs of integer-valued vectors (counts of
    equal values, of values within 1 and 2 steps, the sum and maximum of the
    differences, of pairs equal throughout) and, where asked, of their top-1."""

    def __init__(self):
        self.equal = self.within1 = self.within2 = self.total = self.worst = self.abs_sum = 0
        self.vectors = self.identical = self.top_same = self.top_compared = 0

    def add(self, a, b, compare_top1=True):
        d = np.abs(np.asarray(a).astype(np.int64) - np.asarray(b).astype(np.int64))
        self.vectors += 1
        self.identical += int(d.max() == 0)
        self.equal += int((d == 0).sum())
        self.within1 += int((d <= 1).sum())
        self.within2 += int((d <= 2).sum())
        self.abs_sum += int(d.sum())
        self.total += d.size
        self.worst = max(self.worst, int(d.max()))
        if compare_top1:
            self.top_compared += 1
            self.top_same += int(top1(a) == top1(b))

    def rate(self):
        return self.equal / max(self.total, 1)

    def mean_diff(self):
        return self.abs_sum / max(self.total, 1)

    def top1_misses(self):
        return self.top_compared - self.top_same

    def text(self):
        n = max(self.total, 1)
        return ("equal %.3f %%, within 1 %.3f %%, max diff %d, top-1 same %d/%d"
                % (100 * self.equal / n, 100 * self.within1 / n, self.worst, self.top_same,
                   self.top_compared))
