"""mnet_image_to_input against independent implementations.

Oracles:
  * PIL Image.resize(..., Image.BILINEAR) (antialiased triangle filter when
    shrinking, plain bilinear when enlarging), with and without a crop box;
  * a direct computation of the center-crop box;
  * OpenCV cvtColor for NV12 / NV21 / I420 / YV12 (BT.601 limited range);
  * the BT.601 / BT.709 equations written out from Kr, Kb for the other
    matrix / range combinations.

Tolerance: max abs difference <= 1 on the 0..255 scale after rounding our
float output to the nearest integer (PIL and OpenCV round to 8 bits once or
twice on the way, ours never does). The library is called with mean 0 and
std 1, so its output is in pixel values.

Chroma siting: mnet upsamples 4:2:0 chroma bilinearly with centred (JPEG)
siting, OpenCV replicates each chroma sample over its 2x2 luma block. The
comparison that is exact for both is built by doubling the frame: every
luma sample replicated 2x2 and the chroma plane replaced by the centred
bilinear upsampling of the original chroma (cv2.resize INTER_LINEAR, which
uses the same half-pixel-centre mapping). OpenCV's conversion of that frame,
taken at every second pixel, is the 4:4:4 conversion mnet should match.
Real frames are compared too, and the difference due to siting is printed.
"""
import ctypes
import math
import glob
import os
import random
import sys

import numpy as np

try:
    import cv2
    from PIL import Image
except ImportError as e:  # pragma: no cover
    print("skipped: %s" % e)
    sys.exit(77)

RGB, BGR, RGBA, BGRA, GRAY, F32, NV12, NV21, I420, YV12 = range(1, 11)
CENTER_CROP, STRETCH, LETTERBOX = 1, 2, 3
BT601, BT709 = 0, 1
LIMITED, FULL = 0, 1


class Rect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int),
                ("width", ctypes.c_int), ("height", ctypes.c_int)]


class MnetImage(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("planes", ctypes.c_void_p * 3), ("strides", ctypes.c_size_t * 3)]


class Preprocess(ctypes.Structure):
    _fields_ = [("fit", ctypes.c_int), ("crop_fraction", ctypes.c_float),
                ("fill", ctypes.c_float * 3), ("roi", Rect), ("rotation", ctypes.c_int),
                ("mirror", ctypes.c_int), ("yuv_matrix", ctypes.c_int),
                ("yuv_range", ctypes.c_int)]


class InputSpec(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("bgr", ctypes.c_int),
                ("mean", ctypes.c_float * 3), ("std", ctypes.c_float * 3),
                ("fit", ctypes.c_int), ("crop_fraction", ctypes.c_float),
                ("fill", ctypes.c_float * 3)]  # model default fill: 0 here


class Transform(ctypes.Structure):
    _fields_ = [(n, ctypes.c_double) for n in
                ("xx", "xy", "x0", "yx", "yy", "y0", "content_left", "content_top",
                 "content_right", "content_bottom")]


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512)]


def load_library():
    build = os.environ.get("MNET_BUILD_DIR", "")
    path = os.path.join(build, "libmnet.so")
    if not build or not os.path.exists(path):
        print("skipped: no libmnet.so in MNET_BUILD_DIR=%r" % build)
        sys.exit(77)
    lib = ctypes.CDLL(path)
    lib.mnet_image_to_input.restype = ctypes.c_int
    lib.mnet_image_to_input.argtypes = [
        ctypes.POINTER(MnetImage), ctypes.POINTER(Preprocess), ctypes.POINTER(InputSpec),
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(Transform),
        ctypes.POINTER(Error)]
    lib.mnet_image_scratch_floats.restype = ctypes.c_size_t
    lib.mnet_image_scratch_floats.argtypes = [ctypes.POINTER(InputSpec)]
    lib.mnet_preprocess_init.restype = None
    lib.mnet_preprocess_init.argtypes = [ctypes.POINTER(Preprocess)]
    return lib


LIB = load_library()
FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def run(planes, strides, fmt, width, height, net_w, net_h, fit=STRETCH, crop=0.0,
        roi=(0, 0, 0, 0), rotation=0, mirror=0, matrix=BT601, yuv_range=LIMITED):
    """Calls mnet_image_to_input with mean 0 / std 1; returns (HWC float array, transform)."""
    image = MnetImage()
    image.format, image.width, image.height = fmt, width, height
    for i, (p, s) in enumerate(zip(planes, strides)):
        image.planes[i] = p.ctypes.data
        image.strides[i] = s
    pp = Preprocess()
    LIB.mnet_preprocess_init(ctypes.byref(pp))
    pp.fit, pp.crop_fraction = fit, crop
    pp.roi = Rect(*roi)
    pp.rotation, pp.mirror, pp.yuv_matrix, pp.yuv_range = rotation, mirror, matrix, yuv_range
    spec = InputSpec()
    spec.width, spec.height, spec.bgr = net_w, net_h, 0
    for c in range(3):
        spec.mean[c], spec.std[c] = 0.0, 1.0
    spec.fit, spec.crop_fraction = CENTER_CROP, 0.875
    n_scratch = LIB.mnet_image_scratch_floats(ctypes.byref(spec))
    scratch = np.empty(n_scratch, np.float32)
    out = np.full((net_h, net_w, 3), np.nan, np.float32)
    transform, err = Transform(), Error()
    status = LIB.mnet_image_to_input(ctypes.byref(image), ctypes.byref(pp), ctypes.byref(spec),
                                     out.ctypes.data, scratch.ctypes.data, n_scratch,
                                     ctypes.byref(transform), ctypes.byref(err))
    if status != 0:
        raise RuntimeError("mnet_image_to_input failed: %s" % err.message.decode())
    return out, transform


def run_rgb(arr, net_w, net_h, **kw):
    arr = np.ascontiguousarray(arr)
    h, w, _ = arr.shape
    return run([arr], [w * 3], RGB, w, h, net_w, net_h, **kw)


def max_rounded_diff(ours, ref):
    return int(np.abs(np.rint(ours).astype(np.int32) - ref.astype(np.int32)).max())


def real_images(count, seed):
    shared = os.environ.get("MNET_SHARED_DIR", "/work/shared")
    files = sorted(glob.glob(os.path.join(shared, "data", "imagenet-dev", "*.JPEG")))
    if not files:
        print("skipped: no images in %s/data/imagenet-dev" % shared)
        sys.exit(77)
    return [np.asarray(Image.open(f).convert("RGB"))
            for f in random.Random(seed).sample(files, count)]


def test_resize_vs_pil():
    rng = random.Random(1234)
    for i, arr in enumerate(real_images(5, 7)):
        h, w, _ = arr.shape
        # Shrink both axes, odd sizes.
        nw, nh = rng.randrange(31, w // 2) | 1, rng.randrange(31, h // 2) | 1
        ours, _ = run_rgb(arr, nw, nh)
        ref = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.BILINEAR))
        d = max_rounded_diff(ours, ref)
        check(d <= 1, "shrink %dx%d -> %dx%d vs PIL: max |diff| %d <= 1" % (w, h, nw, nh, d))
        # Enlarge a small odd-sized piece.
        pw, ph = rng.randrange(17, 60) | 1, rng.randrange(17, 60) | 1
        x0, y0 = rng.randrange(0, w - pw), rng.randrange(0, h - ph)
        piece = np.ascontiguousarray(arr[y0:y0 + ph, x0:x0 + pw])
        nw, nh = rng.randrange(pw + 1, 4 * pw), rng.randrange(ph + 1, 4 * ph)
        ours, _ = run_rgb(piece, nw, nh)
        ref = np.asarray(Image.fromarray(piece).resize((nw, nh), Image.BILINEAR))
        d = max_rounded_diff(ours, ref)
        check(d <= 1, "enlarge %dx%d -> %dx%d vs PIL: max |diff| %d <= 1" % (pw, ph, nw, nh, d))
        # Shrink one axis, enlarge the other.
        nw, nh = w // 3 + 1, h + 37
        ours, _ = run_rgb(arr, nw, nh)
        ref = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.BILINEAR))
        d = max_rounded_diff(ours, ref)
        check(d <= 1, "mixed %dx%d -> %dx%d vs PIL: max |diff| %d <= 1" % (w, h, nw, nh, d))
        # ROI = crop then resize (taps stay inside the ROI, as PIL's stay in the crop).
        rw, rh = rng.randrange(w // 3, w - 10), rng.randrange(h // 3, h - 10)
        rx, ry = rng.randrange(0, w - rw), rng.randrange(0, h - rh)
        nw, nh = rng.randrange(40, 200), rng.randrange(40, 200)
        ours, _ = run_rgb(arr, nw, nh, roi=(rx, ry, rw, rh))
        ref = np.asarray(Image.fromarray(arr).crop((rx, ry, rx + rw, ry + rh))
                         .resize((nw, nh), Image.BILINEAR))
        d = max_rounded_diff(ours, ref)
        check(d <= 1, "ROI %d,%d %dx%d -> %dx%d vs PIL crop+resize: max |diff| %d <= 1"
              % (rx, ry, rw, rh, nw, nh, d))


def test_center_crop():
    rng = random.Random(99)
    for arr in real_images(4, 11):
        h, w, _ = arr.shape
        for nw, nh in ((224, 224), (rng.randrange(90, 200), rng.randrange(90, 200))):
            frac = rng.choice([0.875, 1.0, rng.uniform(0.3, 1.0)])
            frac = float(np.float32(frac))
            ours, t = run_rgb(arr, nw, nh, fit=CENTER_CROP, crop=frac)
            # Straightforward box: network aspect, shorter side = frac * shorter image side,
            # shrunk to fit the image if it sticks out, snapped to whole pixels (size rounded
            # half up, offset rounded down) like the reference crops of TF-slim and PIL.
            aspect = nw / nh
            short = frac * min(w, h)
            cw, ch = (short * aspect, short) if aspect >= 1 else (short, short / aspect)
            shrink = min(1.0, w / cw, h / ch)
            cw = max(1, min(w, math.floor(cw * shrink + 0.5)))
            ch = max(1, min(h, math.floor(ch * shrink + 0.5)))
            left, top = (w - cw) // 2, (h - ch) // 2
            box = (left, top, left + cw, top + ch)
            mapped = (t.x0, t.y0, t.xx * nw + t.x0, t.yy * nh + t.y0)
            err = max(abs(a - b) for a, b in zip(box, mapped))
            check(err < 1e-6 and t.xy == 0 and t.yx == 0,
                  "center crop %.4f of %dx%d for %dx%d: box %s, transform %s (err %.2g)"
                  % (frac, w, h, nw, nh, tuple(round(v, 3) for v in box),
                     tuple(round(v, 3) for v in mapped), err))
            ref = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.BILINEAR, box=box))
            d = max_rounded_diff(ours, ref)
            check(d <= 1, "center crop pixels vs PIL resize(box): max |diff| %d <= 1" % d)


def test_rotation_mirror_letterbox_vs_pil():
    """Rotation / mirror = numpy's rot90 / flip then PIL; letterbox = PIL resize pasted
    on a fill-coloured canvas."""
    rng = random.Random(31)
    for arr in real_images(2, 23):
        h, w, _ = arr.shape
        for rotation in (0, 90, 180, 270):
            for mirror in (0, 1):
                upright = np.rot90(arr, k=-rotation // 90)
                if mirror:
                    upright = upright[:, ::-1]
                upright = np.ascontiguousarray(upright)
                nw, nh = rng.randrange(50, 250), rng.randrange(50, 250)
                ours, _ = run_rgb(arr, nw, nh, rotation=rotation, mirror=mirror)
                ref = np.asarray(Image.fromarray(upright).resize((nw, nh), Image.BILINEAR))
                d = max_rounded_diff(ours, ref)
                check(d <= 1, "rotation %d mirror %d %dx%d -> %dx%d vs rot90/flip + PIL: "
                      "max |diff| %d <= 1" % (rotation, mirror, w, h, nw, nh, d))
        for nw, nh in ((224, 224), (300, 160), (120, 280)):
            ours, t = run_rgb(arr, nw, nh, fit=LETTERBOX)
            scale = min(nw / w, nh / h)
            cw, ch = min(nw, int(np.floor(w * scale + 0.5))), min(nh, int(np.floor(h * scale + 0.5)))
            left, top = (nw - cw) // 2, (nh - ch) // 2
            content = (t.content_left, t.content_top, t.content_right, t.content_bottom)
            check(content == (left, top, left + cw, top + ch),
                  "letterbox %dx%d -> %dx%d content %s == %s"
                  % (w, h, nw, nh, content, (left, top, left + cw, top + ch)))
            ref = np.zeros((nh, nw, 3), np.uint8)  # default fill is 0
            ref[top:top + ch, left:left + cw] = np.asarray(
                Image.fromarray(arr).resize((cw, ch), Image.BILINEAR))
            d = max_rounded_diff(ours, ref)
            check(d <= 1, "letterbox %dx%d -> %dx%d vs PIL pasted on fill: max |diff| %d <= 1"
                  % (w, h, nw, nh, d))


def rgb_to_yuv420_planes(rgb):
    """Y plane and (U, V) planes of an even-sized RGB image, via OpenCV (BT.601 limited)."""
    h, w, _ = rgb.shape
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    y = i420[:h]
    u = i420[h:h + h // 4].reshape(h // 2, w // 2)
    v = i420[h + h // 4:].reshape(h // 2, w // 2)
    return y, u, v


def pack_yuv(fmt, y, u, v):
    """(planes, strides, opencv code, single buffer) for a YUV 4:2:0 frame."""
    h, w = y.shape
    if fmt in (NV12, NV21):
        uv = np.empty((h // 2, w), np.uint8)
        uv[:, 0::2], uv[:, 1::2] = (u, v) if fmt == NV12 else (v, u)
        buf = np.concatenate([y, uv])
        code = cv2.COLOR_YUV2RGB_NV12 if fmt == NV12 else cv2.COLOR_YUV2RGB_NV21
        return [y, uv], [w, w], code, buf
    first, second = (u, v) if fmt == I420 else (v, u)
    buf = np.concatenate([y.ravel(), first.ravel(), second.ravel()]).reshape(-1, w)
    code = cv2.COLOR_YUV2RGB_I420 if fmt == I420 else cv2.COLOR_YUV2RGB_YV12
    return ([y, np.ascontiguousarray(first), np.ascontiguousarray(second)],
            [w, w // 2, w // 2], code, buf)


def test_yuv_vs_opencv():
    names = {NV12: "NV12", NV21: "NV21", I420: "I420", YV12: "YV12"}
    rng = np.random.default_rng(5)
    for arr in real_images(2, 3):
        h, w = (arr.shape[0] // 2) * 2, (arr.shape[1] // 2) * 2
        y, u, v = rgb_to_yuv420_planes(np.ascontiguousarray(arr[:h, :w]))
        # Chroma on multiples of 16 so its bilinear upsampling is exact in 8 bits.
        u = (np.clip(u.astype(np.int32) // 16 * 16, 16, 240)).astype(np.uint8)
        v = (np.clip(v.astype(np.int32) // 16 * 16, 16, 240)).astype(np.uint8)
        u_up = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
        v_up = cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
        # Doubled frame: 2x2 luma blocks, chroma = the upsampled planes.
        y2 = np.repeat(np.repeat(y, 2, 0), 2, 1)
        i420_2 = np.concatenate([y2.ravel(), u_up.ravel(), v_up.ravel()]).reshape(-1, 2 * w)
        oracle = cv2.cvtColor(i420_2, cv2.COLOR_YUV2RGB_I420)[::2, ::2]
        for fmt in (NV12, NV21, I420, YV12):
            planes, strides, code, buf = pack_yuv(fmt, y, u, v)
            ours, _ = run(planes, strides, fmt, w, h, w, h)
            d = max_rounded_diff(ours, oracle)
            check(d <= 1, "%s %dx%d vs OpenCV 4:4:4 of centred-bilinear chroma: max |diff| %d"
                  " <= 1" % (names[fmt], w, h, d))
            # Same frame straight through OpenCV (chroma replicated 2x2): agreement
            # wherever the 3x3 chroma neighbourhood is constant.
            direct = cv2.cvtColor(buf, code)
            flat = np.ones((h // 2, w // 2), bool)
            for plane in (u, v):
                p = np.pad(plane.astype(np.int32), 1, mode="edge")
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        flat &= p[1 + dy:1 + dy + h // 2, 1 + dx:1 + dx + w // 2] == plane
            mask = np.repeat(np.repeat(flat, 2, 0), 2, 1)
            diff = np.abs(np.rint(ours).astype(np.int32) - direct.astype(np.int32)).max(axis=2)
            check(mask.mean() > 0.2 and diff[mask].max() <= 1,
                  "%s vs OpenCV direct where chroma is locally constant (%.0f%% of pixels): "
                  "max |diff| %d <= 1; elsewhere (siting differs) max %d, mean %.3f"
                  % (names[fmt], 100 * mask.mean(), diff[mask].max(), diff[~mask].max(),
                     diff[~mask].mean()))
    # Odd sizes: chroma planes round up; only mnet's own equations can judge, so
    # compare against the formula oracle below with odd dimensions.
    del rng


def yuv_formula(y, u, v, matrix, yuv_range):
    """RGB from 4:4:4 YUV, written out from the standards' Kr, Kb."""
    kr, kb = (0.299, 0.114) if matrix == BT601 else (0.2126, 0.0722)
    kg = 1 - kr - kb
    y, u, v = (a.astype(np.float64) for a in (y, u, v))
    if yuv_range == LIMITED:
        yl, cb, cr = (y - 16) * 255 / 219, (u - 128) * 255 / 224, (v - 128) * 255 / 224
    else:
        yl, cb, cr = y, u - 128, v - 128
    r = yl + 2 * (1 - kr) * cr
    b = yl + 2 * (1 - kb) * cb
    g = (yl - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b], axis=2), 0, 255)


def upsample_chroma_centred(c, w, h):
    """Centred bilinear 2x upsampling with replicated edges, cropped to w x h."""
    ch, cw = c.shape
    def coords(n, size):
        pos = (np.arange(n) + 0.5) / 2 - 0.5
        lo = np.floor(pos).astype(int)
        f = pos - lo
        return np.clip(lo, 0, size - 1), np.clip(lo + 1, 0, size - 1), f
    y0, y1, fy = coords(h, ch)
    x0, x1, fx = coords(w, cw)
    c = c.astype(np.float64)
    top = c[y0][:, x0] * (1 - fx) + c[y0][:, x1] * fx
    bottom = c[y1][:, x0] * (1 - fx) + c[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def test_yuv_matrices_and_odd_sizes():
    rng = np.random.default_rng(17)
    for matrix in (BT601, BT709):
        for yuv_range in (LIMITED, FULL):
            for fmt in (NV12, I420, YV12, NV21):
                w, h = int(rng.integers(9, 60)) | 1, int(rng.integers(9, 60)) | 1
                cw, ch = (w + 1) // 2, (h + 1) // 2
                y = rng.integers(0, 256, (h, w), dtype=np.uint8)
                u = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
                v = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
                pad = int(rng.integers(1, 9))
                ys = np.zeros((h, w + pad), np.uint8)
                ys[:, :w] = y
                if fmt in (NV12, NV21):
                    uv = np.zeros((ch, 2 * cw + pad), np.uint8)
                    uv[:, 0:2 * cw:2], uv[:, 1:2 * cw:2] = (u, v) if fmt == NV12 else (v, u)
                    planes, strides = [ys, uv], [w + pad, 2 * cw + pad]
                else:
                    a, b = (u, v) if fmt == I420 else (v, u)
                    pa = np.zeros((ch, cw + pad), np.uint8)
                    pb = np.zeros((ch, cw + pad), np.uint8)
                    pa[:, :cw], pb[:, :cw] = a, b
                    planes, strides = [ys, pa, pb], [w + pad, cw + pad, cw + pad]
                ours, _ = run(planes, strides, fmt, w, h, w, h, matrix=matrix,
                              yuv_range=yuv_range)
                ref = yuv_formula(y, upsample_chroma_centred(u, w, h),
                                  upsample_chroma_centred(v, w, h), matrix, yuv_range)
                d = float(np.abs(ours - ref).max())
                check(d < 0.01, "format %d %s %s %dx%d (odd, padded strides) vs formula: "
                      "max |diff| %.4f < 0.01" % (fmt, "BT709" if matrix else "BT601",
                                                  "full" if yuv_range else "limited", w, h, d))


def main():
    test_resize_vs_pil()
    test_center_crop()
    test_rotation_mirror_letterbox_vs_pil()
    test_yuv_vs_opencv()
    test_yuv_matrices_and_odd_sizes()
    if FAILURES:
        print("%d failed" % len(FAILURES))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
