"""ctypes views of the SSD post-processing entry points of src/post/detection.h
(internal symbols, exported by libmnet.so). The struct layouts mirror the
header; MAX_LAYERS / MAX_RATIOS are MNET_SSD_MAX_LAYERS / MNET_SSD_MAX_RATIOS."""

import ctypes
import os

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
        n = self.lib.mnet_ssd_anchor_count(ctypes.byref(p))
        out = np.zeros((n, 4), np.float32)
        rc = self.lib.mnet_ssd_anchors(ctypes.byref(p), out.ctypes.data)
        if n == 0 or rc != 0:
            raise ValueError("mnet_ssd_anchors rejected the parameters")
        return out

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
        n = self.lib.mnet_torch_box_count(ctypes.byref(p))
        out = np.zeros((n, 4), np.float32)
        rc = self.lib.mnet_torch_boxes(ctypes.byref(p), out.ctypes.data)
        if n == 0 or rc != 0:
            raise ValueError("mnet_torch_boxes rejected the parameters")
        return out
