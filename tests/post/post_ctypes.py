"""ctypes views of the SSD post-processing entry points of src/post/detection.h
(internal symbols, exported by libmnet.so). The struct layouts mirror the
header; MAX_LAYERS / MAX_RATIOS are MNET_SSD_MAX_LAYERS / MNET_SSD_MAX_RATIOS."""

import ctypes
import os
import sys

import numpy as np

MAX_LAYERS = 8
MAX_RATIOS = 8


class SsdAnchorParams(ctypes.Structure):
    _fields_ = [("num_layers", ctypes.c_int),
                ("feature_h", ctypes.c_int * MAX_LAYERS),
                ("feature_w", ctypes.c_int * MAX_LAYERS),
                ("min_scale", ctypes.c_float), ("max_scale", ctypes.c_float),
                ("aspect_ratios", ctypes.c_float * MAX_RATIOS),
                ("num_aspect_ratios", ctypes.c_int),
                ("interpolated_scale_aspect_ratio", ctypes.c_float),
                ("reduce_boxes_in_lowest_layer", ctypes.c_int),
                ("base_anchor_height", ctypes.c_float), ("base_anchor_width", ctypes.c_float),
                ("offset", ctypes.c_float)]


class TorchBoxParams(ctypes.Structure):
    _fields_ = [("num_layers", ctypes.c_int),
                ("feature_h", ctypes.c_int * MAX_LAYERS),
                ("feature_w", ctypes.c_int * MAX_LAYERS),
                ("ratios", (ctypes.c_float * MAX_RATIOS) * MAX_LAYERS),
                ("num_ratios", ctypes.c_int * MAX_LAYERS),
                ("min_ratio", ctypes.c_float), ("max_ratio", ctypes.c_float),
                ("clip", ctypes.c_int)]


def library_path():
    build = os.environ.get("MNET_BUILD_DIR")
    if not build:
        source = os.environ.get("MNET_SOURCE_DIR",
                                os.path.join(os.path.dirname(__file__), "..", ".."))
        build = os.path.join(source, "build")
    return os.path.join(build, "libmnet.so")


class PostLib:
    def __init__(self, path=None):
        lib = ctypes.CDLL(path or library_path())
        self.lib = lib
        lib.mnet_ssd_anchor_count.argtypes = [ctypes.POINTER(SsdAnchorParams)]
        lib.mnet_ssd_anchor_count.restype = ctypes.c_size_t
        lib.mnet_ssd_anchors.argtypes = [ctypes.POINTER(SsdAnchorParams), ctypes.c_void_p]
        lib.mnet_ssd_anchors.restype = ctypes.c_int
        lib.mnet_torch_box_count.argtypes = [ctypes.POINTER(TorchBoxParams)]
        lib.mnet_torch_box_count.restype = ctypes.c_size_t
        lib.mnet_torch_boxes.argtypes = [ctypes.POINTER(TorchBoxParams), ctypes.c_void_p]
        lib.mnet_torch_boxes.restype = ctypes.c_int

    def tf_anchors(self, maps, min_scale, max_scale, ratios, interpolated=1.0,
                   reduce_lowest=True, offset=0.5):
        """[N, 4] float32 (y_center, x_center, h, w) from mnet_ssd_anchors."""
        p = SsdAnchorParams()
        p.num_layers = len(maps)
        for i, (h, w) in enumerate(maps):
            p.feature_h[i], p.feature_w[i] = h, w
        p.min_scale, p.max_scale = min_scale, max_scale
        for i, r in enumerate(ratios):
            p.aspect_ratios[i] = r
        p.num_aspect_ratios = len(ratios)
        p.interpolated_scale_aspect_ratio = interpolated
        p.reduce_boxes_in_lowest_layer = int(reduce_lowest)
        p.base_anchor_height = p.base_anchor_width = 1.0
        p.offset = offset
        return self._boxes(self.lib.mnet_ssd_anchor_count, self.lib.mnet_ssd_anchors, p)

    def torch_boxes(self, maps, ratios_per_layer, min_ratio, max_ratio, clip=True):
        """[N, 4] float32 (y_center, x_center, h, w) from mnet_torch_boxes."""
        p = TorchBoxParams()
        p.num_layers = len(maps)
        for i, (h, w) in enumerate(maps):
            p.feature_h[i], p.feature_w[i] = h, w
            for j, r in enumerate(ratios_per_layer[i]):
                p.ratios[i][j] = r
            p.num_ratios[i] = len(ratios_per_layer[i])
        p.min_ratio, p.max_ratio, p.clip = min_ratio, max_ratio, int(clip)
        return self._boxes(self.lib.mnet_torch_box_count, self.lib.mnet_torch_boxes, p)

    @staticmethod
    def _boxes(count, generate, params):
        """Sizes the output with count(params), fills it with generate()."""
        n = count(ctypes.byref(params))
        out = np.zeros((n, 4), np.float32)
        rc = generate(ctypes.byref(params), out.ctypes.data)
        if n == 0 or rc != 0:
            raise ValueError("%s rejected the parameters" % generate.__name__)
        return out


def load_or_skip():
    """PostLib on the built library; ends the test as skipped (exit 77)
    when there is none."""
    try:
        return PostLib()
    except OSError as e:
        print("skip: %s" % e)
        sys.exit(77)


class AnchorBox(ctypes.Structure):
    _fields_ = [("yc", ctypes.c_float), ("xc", ctypes.c_float),
                ("h", ctypes.c_float), ("w", ctypes.c_float)]


class BoxCoder(ctypes.Structure):
    _fields_ = [("y_scale", ctypes.c_float), ("x_scale", ctypes.c_float),
                ("h_scale", ctypes.c_float), ("w_scale", ctypes.c_float),
                ("xy_order", ctypes.c_int), ("size_log_clip", ctypes.c_float)]


SIGMOID, SOFTMAX, IDENTITY = 0, 1, 2


class NmsParams(ctypes.Structure):
    _fields_ = [("num_classes", ctypes.c_int), ("background_columns", ctypes.c_int),
                ("activation", ctypes.c_int), ("score_threshold", ctypes.c_float),
                ("iou_threshold", ctypes.c_float), ("max_detections", ctypes.c_int),
                ("max_classes_per_detection", ctypes.c_int),
                ("detections_per_class", ctypes.c_int), ("regular", ctypes.c_int)]


class RawDetection(ctypes.Structure):
    _fields_ = [("class_index", ctypes.c_int), ("score", ctypes.c_float),
                ("box", ctypes.c_float * 4), ("anchor", ctypes.c_int)]


def detect(post, encodings, scores, anchors, params, scales=(10.0, 10.0, 5.0, 5.0)):
    """Runs mnet_ssd_detect on one layer: encodings [N, 4], scores [N, C(+1)],
    anchors [N, 4] (yc, xc, h, w). Returns a list of (anchor, class, score,
    box ndarray)."""
    lib = post.lib
    lib.mnet_ssd_detect_scratch_bytes.argtypes = [ctypes.c_size_t, ctypes.POINTER(NmsParams)]
    lib.mnet_ssd_detect_scratch_bytes.restype = ctypes.c_size_t
    lib.mnet_ssd_detect.restype = ctypes.c_int
    lib.mnet_ssd_detect.argtypes = [
        ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.POINTER(BoxCoder),
        ctypes.POINTER(NmsParams), ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(RawDetection)]
    encodings = np.ascontiguousarray(encodings, np.float32)
    scores = np.ascontiguousarray(scores, np.float32)
    anchors = np.ascontiguousarray(anchors, np.float32)
    n = encodings.shape[0]
    scratch_bytes = lib.mnet_ssd_detect_scratch_bytes(n, ctypes.byref(params))
    capacity = max(params.max_detections, 1)
    if scratch_bytes == 0:
        raise ValueError("invalid NMS parameters")
    scratch = ctypes.create_string_buffer(scratch_bytes)
    out = (RawDetection * capacity)()
    enc_ptr = (ctypes.c_void_p * 1)(encodings.ctypes.data)
    score_ptr = (ctypes.c_void_p * 1)(scores.ctypes.data)
    counts = (ctypes.c_size_t * 1)(n)
    coder = BoxCoder(*scales, 0, 0.0)
    got = lib.mnet_ssd_detect(1, enc_ptr, score_ptr, counts, anchors.ctypes.data,
                              ctypes.byref(coder), ctypes.byref(params), scratch, scratch_bytes, out)
    if got < 0:
        raise RuntimeError("mnet_ssd_detect failed")
    return [(d.anchor, d.class_index, d.score, np.array(d.box[:], np.float32))
            for d in out[:got]]


def decode_boxes(post, encodings, anchors, coder):
    """mnet_decode_box over rows: encodings [N, 4], anchors [N, 4] (yc, xc, h,
    w) -> [N, 4] (ymin, xmin, ymax, xmax) float32."""
    fn = post.lib.mnet_decode_box
    fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(AnchorBox), ctypes.POINTER(BoxCoder),
                   ctypes.c_void_p]
    fn.restype = None
    encodings = np.ascontiguousarray(encodings, np.float32)
    out = np.zeros((len(encodings), 4), np.float32)
    for i in range(len(encodings)):
        anchor = AnchorBox(*[float(v) for v in anchors[i]])
        fn(encodings[i].ctypes.data, ctypes.byref(anchor), ctypes.byref(coder),
           out[i].ctypes.data)
    return out
