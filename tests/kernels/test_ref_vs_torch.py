"""The scalar reference kernels of libmnet.so against PyTorch.

An oracle independent of the C test: the kernels are called through ctypes
on random data and compared with torch.nn.functional (conv2d with groups,
stride and dilation, TF SAME through an explicit asymmetric F.pad,
avg_pool2d both counting modes, bilinear interpolate with align_corners
True/False, softmax, linear). The ASYMMETRIC resize mode has no torch
counterpart and is checked against a numpy formula.

Tolerance: max relative error <= 1e-5, where
- conv, pooling, linear: the error is relative to the same operation applied
  to |inputs| and |weights| in float64 (the sum of |terms|, the scale at
  which float summation rounds); the oracle runs in float64;
- resize: relative to max |input|. Source coordinates are float32 in mnet,
  TF and torch alike, so they differ by rounding (FMA or not); that moves an
  output by ~ulp(coordinate) * neighbour difference, which scales with the
  value range rather than with the local magnitude (observed ~5e-6 at 65 ->
  257, the largest DeepLab-like case here);
- softmax: relative to each output value (float64 oracle).

mnet is NHWC / OHWI, torch is NCHW / OIHW: arrays are transposed here.
Exit code 77 (skipped) when $MNET_BUILD_DIR/libmnet.so is not built.
"""
import ctypes
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

TOLERANCE = 1e-5
SKIP = 77

PAD_TF_SAME, PAD_SYMMETRIC, PAD_VALID = 0, 1, 2
ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 2
RESIZE_ALIGN_CORNERS, RESIZE_HALF_PIXEL, RESIZE_ASYMMETRIC = 0, 1, 2


class ConvGeometry(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int) for name in (
        "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w",
        "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left",
        "groups")]


FLOAT_P = ctypes.POINTER(ctypes.c_float)


def load_library():
    build_dir = os.environ.get("MNET_BUILD_DIR", "")
    path = os.path.join(build_dir, "libmnet.so")
    if not build_dir or not os.path.exists(path):
        print(f"skipped: {path or 'MNET_BUILD_DIR'} not found")
        sys.exit(SKIP)
    lib = ctypes.CDLL(path)
    geometry_p = ctypes.POINTER(ConvGeometry)
    c_int, c_size = ctypes.c_int, ctypes.c_size_t
    signatures = {
        "mnet_conv_geometry_init": (c_int, [geometry_p] + [c_int] * 9),
        "mnet_ref_conv2d_f32": (None, [geometry_p, FLOAT_P, FLOAT_P, FLOAT_P, c_int, FLOAT_P]),
        "mnet_ref_avgpool_f32": (None, [geometry_p, c_int, FLOAT_P, FLOAT_P]),
        "mnet_ref_resize_bilinear_f32": (None, [c_int] * 6 + [FLOAT_P, FLOAT_P]),
        "mnet_ref_softmax_f32": (None, [c_size, FLOAT_P, FLOAT_P]),
        "mnet_ref_fully_connected_f32": (None, [c_int, c_int, FLOAT_P, FLOAT_P, FLOAT_P, c_int,
                                                FLOAT_P]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def ptr(array):
    if array is None:
        return None
    assert array.dtype == np.float32 and array.flags["C_CONTIGUOUS"]
    return array.ctypes.data_as(FLOAT_P)


def to_nchw(hwc):
    return torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)[None]))


def to_hwc(nchw):
    return nchw[0].permute(1, 2, 0).numpy()


def activate(t, act):
    if act == ACT_RELU:
        return torch.relu(t)
    if act == ACT_RELU6:
        return torch.clamp(t, 0.0, 6.0)
    return t


def tf_same_pads(size, kernel, stride, dilation):
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class Report:
    def __init__(self):
        self.cases = 0
        self.failures = 0
        self.worst = {}

    def check(self, family, what, got, exact, scale):
        err = np.abs(got.astype(np.float64) - exact) / np.maximum(scale, 1e-30)
        worst = float(np.max(err)) if err.size else 0.0
        if np.isnan(err).any():
            worst = float("inf")
        self.cases += 1
        self.worst[family] = max(self.worst.get(family, 0.0), worst)
        if os.environ.get("MNET_VERBOSE"):
            print(f"{family} {what}: {worst:.3g}")
        if not worst <= TOLERANCE:
            self.failures += 1
            print(f"FAIL {family} {what}: max relative error {worst:.3g}")


def random_array(rng, shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def conv_case(lib, rng, report, in_h, in_w, in_c, out_c, k, s, d, groups, padding, act, bias_on):
    what = f"{in_h}x{in_w}x{in_c}->{out_c} k{k} s{s} d{d} g{groups} pad{padding} act{act}"
    g = ConvGeometry()
    rc = lib.mnet_conv_geometry_init(ctypes.byref(g), in_h, in_w, in_c, out_c, k, s, d, groups,
                                     padding)
    x = random_array(rng, (in_h, in_w, in_c))
    w = random_array(rng, (out_c, k, k, in_c // groups))
    b = random_array(rng, (out_c,), -2, 2) if bias_on else None

    xt, wt = to_nchw(x).double(), torch.from_numpy(w.transpose(0, 3, 1, 2).copy()).double()
    bt = torch.from_numpy(b).double() if b is not None else None
    if padding == PAD_TF_SAME:
        top, bottom = tf_same_pads(in_h, k, s, d)
        left, right = tf_same_pads(in_w, k, s, d)
        pad_x = lambda t: F.pad(t, (left, right, top, bottom))
        torch_padding = 0
    else:
        pad_x = lambda t: t
        torch_padding = d * (k - 1) // 2 if padding == PAD_SYMMETRIC else 0
    span = d * (k - 1) + 1
    fits = all(n + 2 * torch_padding >= span for n in (in_h, in_w)) or padding == PAD_TF_SAME
    if not fits:
        report.cases += 1
        if rc != -1:
            report.failures += 1
            print(f"FAIL conv {what}: geometry accepted, torch has no output")
        return
    conv = lambda xx, ww, bb: F.conv2d(pad_x(xx), ww, bb, stride=s, padding=torch_padding,
                                       dilation=d, groups=groups)
    exact = to_hwc(activate(conv(xt, wt, bt), act))
    scale = to_hwc(conv(xt.abs(), wt.abs(), bt.abs() if bt is not None else None))
    if rc != 0 or (g.out_h, g.out_w) != exact.shape[:2]:
        report.cases += 1
        report.failures += 1
        print(f"FAIL conv {what}: rc {rc} geometry {g.out_h}x{g.out_w}, torch {exact.shape[:2]}")
        return
    out = np.empty((g.out_h, g.out_w, out_c), np.float32)
    lib.mnet_ref_conv2d_f32(ctypes.byref(g), ptr(x), ptr(w), ptr(b), act, ptr(out))
    report.check("conv2d", what, out, exact, scale)


def test_conv(lib, rng, report):
    channels = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 24, 33]
    for _ in range(300):
        in_c = int(rng.choice(channels))
        kind = rng.integers(0, 4)
        if kind == 0:
            groups, out_c = 1, int(rng.choice(channels))
        elif kind == 1:
            groups, out_c = in_c, in_c
        elif kind == 2:
            groups, out_c = in_c, in_c * int(rng.integers(2, 4))
        else:
            groups = int(rng.choice([q for q in range(1, in_c + 1) if in_c % q == 0]))
            out_c = groups * int(rng.integers(1, 4))
        conv_case(lib, rng, report, int(rng.integers(1, 24)), int(rng.integers(1, 24)), in_c,
                  out_c, int(rng.choice([1, 3, 5])), int(rng.integers(1, 3)),
                  int(rng.choice([1, 1, 2, 4])), groups, int(rng.integers(0, 3)),
                  int(rng.integers(0, 3)), bool(rng.integers(0, 4)))
    # Real layer shapes: stems at 224 (TF: pad 0 before, 1 after) and 225,
    # stride-2 and atrous depthwise.
    conv_case(lib, rng, report, 224, 224, 3, 16, 3, 2, 1, 1, PAD_TF_SAME, ACT_RELU6, True)
    conv_case(lib, rng, report, 225, 225, 3, 16, 3, 2, 1, 1, PAD_TF_SAME, ACT_RELU6, True)
    conv_case(lib, rng, report, 224, 224, 3, 16, 3, 2, 1, 1, PAD_SYMMETRIC, ACT_RELU, True)
    conv_case(lib, rng, report, 56, 56, 48, 48, 3, 2, 1, 48, PAD_TF_SAME, ACT_RELU6, True)
    conv_case(lib, rng, report, 33, 33, 64, 64, 3, 1, 2, 64, PAD_TF_SAME, ACT_RELU6, True)
    conv_case(lib, rng, report, 65, 65, 32, 32, 3, 1, 4, 32, PAD_SYMMETRIC, ACT_RELU6, True)
    conv_case(lib, rng, report, 14, 14, 96, 40, 1, 1, 1, 1, PAD_TF_SAME, ACT_NONE, True)


def test_avgpool(lib, rng, report):
    for _ in range(200):
        in_h, in_w = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        c = int(rng.choice([1, 3, 8, 13, 32]))
        k, s = int(rng.choice([1, 2, 3, 5, 7])), int(rng.integers(1, 4))
        padding, count_pad = int(rng.integers(0, 3)), int(rng.integers(0, 2))
        what = f"{in_h}x{in_w}x{c} k{k} s{s} pad{padding} count_pad{count_pad}"
        g = ConvGeometry()
        if lib.mnet_conv_geometry_init(ctypes.byref(g), in_h, in_w, c, c, k, s, 1, 1,
                                       padding) != 0:
            continue  # window larger than the input; the conv test covers rejection
        x = random_array(rng, (in_h, in_w, c), -4, 4)
        xt = to_nchw(x).double()
        ones = torch.ones_like(xt)
        if padding == PAD_TF_SAME:
            top, bottom = tf_same_pads(in_h, k, s, 1)
            left, right = tf_same_pads(in_w, k, s, 1)
            pads = (left, right, top, bottom)
            window_sum = lambda t: F.avg_pool2d(F.pad(t, pads), k, s) * (k * k)
            if count_pad:
                pool = lambda t: F.avg_pool2d(F.pad(t, pads), k, s)
            else:  # divide by the number of real taps: the pooled padded mask
                pool = lambda t: window_sum(t) / window_sum(ones)
        else:
            torch_pad = (k - 1) // 2 if padding == PAD_SYMMETRIC else 0
            pool = lambda t: F.avg_pool2d(t, k, s, padding=torch_pad,
                                          count_include_pad=bool(count_pad))
        exact, scale = to_hwc(pool(xt)), to_hwc(pool(xt.abs()))
        if (g.out_h, g.out_w) != exact.shape[:2]:
            report.cases += 1
            report.failures += 1
            print(f"FAIL avgpool {what}: {g.out_h}x{g.out_w}, torch {exact.shape[:2]}")
            continue
        out = np.empty(exact.shape, np.float32)
        lib.mnet_ref_avgpool_f32(ctypes.byref(g), count_pad, ptr(x), ptr(out))
        report.check("avgpool", what, out, exact, scale)


def asymmetric_resize_numpy(x, out_h, out_w):
    """TF legacy resize: src = dst * in / out, neighbours clamped to the edge."""
    in_h, in_w, _ = x.shape

    def taps(n_in, n_out):
        src = np.arange(n_out, dtype=np.float32) * np.float32(n_in / n_out)
        lo = np.floor(src).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (src - lo).astype(np.float64)

    y0, y1, fy = taps(in_h, out_h)
    x0, x1, fx = taps(in_w, out_w)
    v = x.astype(np.float64)
    fx, fy = fx[None, :, None], fy[:, None, None]
    top = v[y0][:, x0] * (1 - fx) + v[y0][:, x1] * fx
    bottom = v[y1][:, x0] * (1 - fx) + v[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def resize_case(lib, rng, report, in_h, in_w, c, out_h, out_w, mode):
    what = f"{in_h}x{in_w}x{c}->{out_h}x{out_w} mode{mode}"
    x = random_array(rng, (in_h, in_w, c), -5, 5)
    if mode == RESIZE_ASYMMETRIC:
        exact = asymmetric_resize_numpy(x, out_h, out_w)
        scale = np.full(exact.shape, np.abs(x).max(), np.float64)
    else:
        # float32 like mnet, TF and torch compute the coordinates; the
        # scale runs on |x| with the same weights.
        resize = lambda t: F.interpolate(t, size=(out_h, out_w), mode="bilinear",
                                         align_corners=mode == RESIZE_ALIGN_CORNERS)
        xt = to_nchw(x)
        exact = to_hwc(resize(xt)).astype(np.float64)
        scale = np.full(exact.shape, np.abs(x).max(), np.float64)
    out = np.empty((out_h, out_w, c), np.float32)
    lib.mnet_ref_resize_bilinear_f32(in_h, in_w, c, out_h, out_w, mode, ptr(x), ptr(out))
    report.check("resize", what, out, exact, scale)


def test_resize(lib, rng, report):
    for mode in (RESIZE_ALIGN_CORNERS, RESIZE_HALF_PIXEL, RESIZE_ASYMMETRIC):
        resize_case(lib, rng, report, 33, 33, 21, 513, 513, mode)  # DeepLab logits
        resize_case(lib, rng, report, 65, 65, 4, 257, 257, mode)
        resize_case(lib, rng, report, 1, 1, 3, 5, 4, mode)
        resize_case(lib, rng, report, 9, 6, 3, 1, 1, mode)
        for _ in range(60):
            resize_case(lib, rng, report, *(int(v) for v in rng.integers(1, 30, size=2)),
                        int(rng.choice([1, 2, 3, 8, 21])),
                        *(int(v) for v in rng.integers(1, 60, size=2)), mode)


def test_softmax(lib, rng, report):
    for n in (1, 2, 5, 21, 91, 1000, 1001):
        for offset in (0.0, 800.0, -800.0):
            x = (random_array(rng, (n,), -15, 15) + np.float32(offset)).astype(np.float32)
            exact = torch.softmax(torch.from_numpy(x).double(), 0).numpy()
            out = np.empty(n, np.float32)
            lib.mnet_ref_softmax_f32(n, ptr(x), ptr(out))
            report.check("softmax", f"n{n} offset{offset}", out, exact, exact)


def test_fully_connected(lib, rng, report):
    for in_n, out_n in [(1024, 1001), (1280, 1001), (1, 1), (17, 3)] + [
            tuple(int(v) for v in rng.integers(1, 600, size=2)) for _ in range(20)]:
        act = int(rng.integers(0, 3))
        x = random_array(rng, (in_n,))
        w = random_array(rng, (out_n, in_n), -0.5, 0.5)
        b = random_array(rng, (out_n,)) if rng.integers(0, 4) else None
        xt, wt = torch.from_numpy(x).double(), torch.from_numpy(w).double()
        bt = torch.from_numpy(b).double() if b is not None else None
        exact = activate(F.linear(xt, wt, bt), act).numpy()
        scale = F.linear(xt.abs(), wt.abs(), bt.abs() if bt is not None else None).numpy()
        out = np.empty(out_n, np.float32)
        lib.mnet_ref_fully_connected_f32(in_n, out_n, ptr(x), ptr(w), ptr(b), act, ptr(out))
        report.check("fully_connected", f"{in_n}->{out_n} act{act}", out, exact, scale)


def main():
    lib = load_library()
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240607)
    report = Report()
    test_conv(lib, rng, report)
    test_avgpool(lib, rng, report)
    test_resize(lib, rng, report)
    test_softmax(lib, rng, report)
    test_fully_connected(lib, rng, report)
    for family, worst in sorted(report.worst.items()):
        print(f"{family}: max relative error {worst:.3g} (tolerance {TOLERANCE:g})")
    print(f"{report.cases - report.failures} passed, {report.failures} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
