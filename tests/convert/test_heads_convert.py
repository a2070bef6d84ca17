#!/usr/bin/python3
"""TFLite SSD and DeepLab conversion.

The pretrained files convert with the architecture their SOURCES.md
documents (taps, extra layers, anchors per location, post-process options,
output stride, dilations); the F32 anchors equal the file's uint8 anchors
dequantized, and those agree with a NumPy re-implementation of the TF
Object Detection API anchor generator within half a quantization step; every
stored weight equals (raw - zero_point) * scale of the raw tensor kept next
to it. Graphs broken in one place (mutated after parsing) must be refused
with a message naming the problem."""

import copy
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from flatbuffers import flexbuffers

import convert_test_env as env
import st_read

SSD_V1 = "ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite"
SSD_V2 = "ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_quant_postprocess.tflite"
SSD_OID = "ssd_mobilenet_v2_oidv4_fp16/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"
COCO_LABELS = "ssd_mobilenet_v1_coco/coco_labels.txt"
DL_QUANT = "deeplabv3_mnv2_pascal/deeplabv3_mnv2_pascal_quant.tflite"
DL_DM05 = "deeplabv3_mnv2_pascal/deeplabv3_mnv2_dm05_pascal_quant.tflite"
DL_257 = "deeplabv3_mnv2_pascal/deeplabv3_257_mv_gpu.tflite"
VOC_LABELS = "deeplabv3_mnv2_pascal/pascal_voc_segmentation_labels.txt"
OID_ANCHORS = ('{"type": "tf_ssd", "min_scale": 0.2, "max_scale": 0.95, "aspect_ratios": '
               '[1.0, 2.0, 0.5, 3.0, 0.3333], "interpolated_scale_aspect_ratio": 1.0, '
               '"reduce_boxes_in_lowest_layer": true}')

env.require_shared_models(SSD_V1, SSD_V2, SSD_OID, DL_QUANT, DL_DM05, DL_257)

import tflite_deeplab  # noqa: E402
import tflite_reader  # noqa: E402
import tflite_ssd  # noqa: E402


def tf_ssd_anchors(sizes, min_scale=0.2, max_scale=0.95, ratios=(1.0, 2.0, 0.5, 3.0, 0.3333)):
    """TF OD API multiple_grid_anchor_generator / ssd_anchor_generator with
    reduce_boxes_in_lowest_layer and an interpolated scale; rows in the
    order (y, x, anchor) of the predictors' reshape; [yc, xc, h, w]."""
    layers = len(sizes)
    scales = [min_scale + (max_scale - min_scale) * i / (layers - 1) for i in range(layers)]
    scales.append(1.0)
    rows = []
    for l, size in enumerate(sizes):
        if l == 0:
            boxes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            boxes = [(scales[l], r) for r in ratios]
            boxes.append((math.sqrt(scales[l] * scales[l + 1]), 1.0))
        for y in range(size):
            for x in range(size):
                for scale, ratio in boxes:
                    rows.append(((y + 0.5) / size, (x + 0.5) / size,
                                 scale / math.sqrt(ratio), scale * math.sqrt(ratio)))
    return np.array(rows)


def convert(src, out, *args):
    result = subprocess.run([sys.executable, env.CONVERTER, "tflite", env.shared_model(src),
                             "-o", out] + list(args), capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("mnet_convert %s failed: %s" % (src, result.stderr))
    tensors, metadata, _ = st_read.read(out)
    return tensors, st_read.read_json_metadata(metadata)


def check_raw_twins(test, tensors, meta):
    for name, entry in meta["mnet.quantization"]["tensors"].items():
        raw = tensors[entry["raw"]]
        shape = [-1] + [1] * (raw.ndim - 1)
        scale = np.asarray(entry["scale"]).reshape(shape)
        zero = np.asarray(entry["zero_point"], np.float64).reshape(shape)
        expected = (raw.astype(np.float64) - zero) * scale
        np.testing.assert_allclose(tensors[name], expected, rtol=1e-6,
                                   atol=1e-6 * np.abs(expected).max(), err_msg=name)


class PretrainedSsdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.converted = {}
        for key, src in (("v1", SSD_V1), ("v2", SSD_V2)):
            cls.converted[key] = convert(src, os.path.join(cls.tmp.name, key + ".st"), "--dtype",
                                         "f32", "--labels", env.shared_model(COCO_LABELS))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_config_matches_sources(self):
        expected = {
            "v1": ("mobilenet_v1", 0.75, ["block10/output", "block12/output"],
                   [[192, 384], [96, 192], [96, 192], [48, 96]], 10),
            "v2": ("mobilenet_v2", 1.0, ["block13/expand", "conv_last"],
                   [[256, 512], [128, 256], [128, 256], [64, 128]], 20),
        }
        for key, (backbone, dm, taps, extras, max_det) in expected.items():
            tensors, meta = self.converted[key]
            config = meta["mnet.config"]
            ssd = config["ssd"]
            with self.subTest(model=key):
                self.assertEqual(config["architecture"], "ssd")
                self.assertEqual(config["backbone"], backbone)
                self.assertEqual(config["depth_multiplier"], dm)
                self.assertEqual(config["num_classes"], 90)
                self.assertEqual(config["preprocess"], {"fit": "stretch"})
                self.assertEqual(config["input"]["mean"], [128.0] * 3)
                self.assertEqual(config["input"]["std"], [128.0] * 3)
                self.assertEqual(ssd["feature_taps"], taps)
                self.assertEqual(ssd["extra_layers"], extras)
                self.assertEqual(ssd["anchors_per_location"], [3, 6, 6, 6, 6, 6])
                self.assertEqual(ssd["predictor"], "conv1x1")
                self.assertEqual(ssd["anchors"], "tensor")
                self.assertEqual(ssd["box_coder"], [10.0, 10.0, 5.0, 5.0])
                self.assertEqual((ssd["score"], ssd["background_class"]), ("sigmoid", True))
                nms = ssd["nms"]
                self.assertEqual(nms["variant"], "fast")
                self.assertEqual(nms["max_detections"], max_det)
                self.assertEqual(nms["max_classes_per_detection"], 1)
                self.assertAlmostEqual(nms["iou_threshold"], 0.6, places=6)
                self.assertAlmostEqual(nms["score_threshold"] * 1e8, 1.0, places=5)
                self.assertEqual(tensors["heads.0.box.weight"].shape[:3], (12, 1, 1))
                self.assertEqual(tensors["heads.0.class.weight"].shape[:3], (273, 1, 1))
                labels = meta["mnet.labels"]
                self.assertEqual((labels[0], labels[11], labels[89]),
                                 ("person", "n/a", "toothbrush"))

    def test_anchors_are_the_files_dequantized(self):
        generated = tf_ssd_anchors([19, 10, 5, 3, 2, 1])
        for key, src in (("v1", SSD_V1), ("v2", SSD_V2)):
            tensors, meta = self.converted[key]
            anchors = tensors["anchors"]
            with self.subTest(model=key):
                self.assertEqual(anchors.dtype, np.float32)
                self.assertEqual(anchors.shape, (1917, 4))
                raw = tensors["anchors.q"]
                with open(env.shared_model(src), "rb") as f:
                    self.assertIn(raw.tobytes(), f.read())
                # SOURCES.md: scale 0.006453061, zero point 0.
                entry = meta["mnet.quantization"]["tensors"]["anchors"]
                self.assertAlmostEqual(entry["scale"][0], 0.006453061, places=8)
                self.assertEqual(entry["zero_point"], [0])
                np.testing.assert_allclose(anchors, raw.astype(np.float64) * entry["scale"][0],
                                           rtol=1e-6)
                self.assertLessEqual(np.abs(anchors - generated).max(),
                                     0.006453061 / 2 + 1e-6)

    def test_weights_equal_their_raw_twins(self):
        for key in ("v1", "v2"):
            with self.subTest(model=key):
                check_raw_twins(self, *self.converted[key])

    def test_float16_openimages_model(self):
        tensors, meta = convert(SSD_OID, os.path.join(self.tmp.name, "oid.st"),
                                "--mean", "127.5", "--std", "127.5", "--ssd-score", "sigmoid",
                                "--anchors", OID_ANCHORS, "--labels",
                                env.shared_model("ssd_mobilenet_v2_oidv4_fp16/"
                                                 "object_detection_oidv4_labelmap.txt"))
        config = meta["mnet.config"]
        self.assertEqual(config["num_classes"], 23)
        self.assertEqual(config["ssd"]["anchors"]["type"], "tf_ssd")
        self.assertNotIn("anchors", tensors)
        self.assertNotIn("mnet.quantization", meta)
        self.assertEqual(meta["mnet.labels"][0], "Bicycle")
        self.assertEqual(tensors["heads.5.class.weight"].shape, (144, 1, 1, 128))

    def test_missing_anchor_generator_is_refused(self):
        result = subprocess.run([sys.executable, env.CONVERTER, "tflite",
                                 env.shared_model(SSD_OID), "-o",
                                 os.path.join(self.tmp.name, "x.st"), "--mean", "127.5",
                                 "--std", "127.5", "--ssd-score", "sigmoid"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no anchor tensor", result.stderr)


class PretrainedDeeplabTest(unittest.TestCase):
    def test_configs(self):
        cases = [(DL_QUANT, 1.0, 16, None, 513, 128.0), (DL_DM05, 0.5, 16, 1, 513, 128.0),
                 (DL_257, 0.5, 8, 1, 257, 127.5)]
        with tempfile.TemporaryDirectory() as tmp:
            for src, dm, output_stride, divisor, size, mean in cases:
                args = ["--labels", env.shared_model(VOC_LABELS), "--dtype", "f32"]
                if mean == 127.5:
                    args += ["--mean", "127.5", "--std", "127.5"]
                tensors, meta = convert(src, os.path.join(tmp, "d.st"), *args)
                config = meta["mnet.config"]
                with self.subTest(model=src):
                    self.assertEqual(config["architecture"], "deeplabv3")
                    self.assertEqual(config["depth_multiplier"], dm)
                    self.assertEqual(config["output_stride"], output_stride)
                    self.assertEqual(config.get("divisible_by"), divisor)
                    self.assertEqual(config["last_channels"], 0)
                    self.assertEqual(config["input"]["height"], size)
                    self.assertEqual(config["input"]["mean"], [mean] * 3)
                    self.assertEqual(config["preprocess"],
                                     {"fit": "letterbox", "fill": [127.5] * 3})
                    self.assertEqual(config["deeplab"], {
                        "aspp": "mobile", "aspp_channels": 256, "atrous_rates": [],
                        "separable": False, "activation": "relu", "align_corners": True,
                        "decoder": None})
                    self.assertEqual(config["num_classes"], 21)
                    self.assertEqual(meta["mnet.labels"][20], "tvmonitor")
                    self.assertEqual(tensors["logits.weight"].shape, (21, 1, 1, 256))
                    if divisor == 1:   # TF-slim widths without rounding to 8
                        self.assertEqual(tensors["blocks.1.project.weight"].shape[0], 12)
                    if "mnet.quantization" in meta:
                        check_raw_twins(self, tensors, meta)


def _find(model, opcode, predicate=lambda op: True):
    return next(op for op in model.operators if op.opcode == opcode and predicate(op))


class BrokenGraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ssd = tflite_reader.read_tflite(env.shared_model(SSD_V1))
        cls.deeplab = tflite_reader.read_tflite(env.shared_model(DL_QUANT))

    def assert_refused(self, model, recognize_and_convert, *fragments):
        with self.assertRaises(Exception) as ctx:
            recognize_and_convert(model)
        for fragment in fragments:
            self.assertIn(fragment, str(ctx.exception))

    def ssd_copy(self):
        return copy.deepcopy(self.ssd)

    def convert_ssd(self, model):
        return tflite_ssd.convert_ssd(tflite_ssd.recognize_ssd(model))

    def test_scores_without_logistic(self):
        model = self.ssd_copy()
        _find(model, "LOGISTIC").opcode = "TANH"
        self.assert_refused(model, self.convert_ssd, "LOGISTIC")

    def test_postprocess_class_count_mismatch(self):
        model = self.ssd_copy()
        op = _find(model, tflite_ssd.POSTPROCESS)
        options = flexbuffers.Loads(op.custom_options)
        options["num_classes"] = 80
        op.custom_options = bytes(flexbuffers.Dumps(options))
        self.assert_refused(model, self.convert_ssd, "80 classes", "91 columns")

    def test_postprocess_option_missing(self):
        model = self.ssd_copy()
        op = _find(model, tflite_ssd.POSTPROCESS)
        options = flexbuffers.Loads(op.custom_options)
        del options["y_scale"]
        op.custom_options = bytes(flexbuffers.Dumps(options))
        self.assert_refused(model, self.convert_ssd, "y_scale")

    def test_anchor_count_mismatch(self):
        model = self.ssd_copy()
        anchors = model.tensors[_find(model, tflite_ssd.POSTPROCESS).inputs[2]]
        anchors.data = anchors.data[:1900]
        anchors.shape = anchors.data.shape
        self.assert_refused(model, self.convert_ssd, "1900", "1917")

    def test_box_and_class_predictors_disagree(self):
        model = self.ssd_copy()
        box0 = next(op for op in model.operators if op.opcode == "CONV_2D" and
                    model.tensors[op.outputs[0]].name.startswith("BoxPredictor_1/BoxEncoding"))
        box1 = next(op for op in model.operators if op.opcode == "CONV_2D" and
                    model.tensors[op.outputs[0]].name.startswith("BoxPredictor_2/BoxEncoding"))
        box0.inputs[0], box1.inputs[0] = box1.inputs[0], box0.inputs[0]
        self.assert_refused(model, self.convert_ssd, "same feature maps")

    def test_extra_layer_without_relu6(self):
        model = self.ssd_copy()
        op = next(op for op in model.operators
                  if "Conv2d_2_3x3_s2_384" in model.tensors[op.outputs[0]].name)
        op.options["fused_activation_function"] = "NONE"
        model.tensors[op.outputs[0]].name = "extra/BiasAdd"
        self.assert_refused(model, self.convert_ssd, "extras.0.conv", "expected RELU6")

    def test_relu6_name_with_negative_range(self):
        model = self.ssd_copy()
        out = model.tensors[model.operators[0].outputs[0]]
        out.quantization.zero_point[:] = 100
        self.assert_refused(model, self.convert_ssd, "Relu6", "not 0")

    def convert_deeplab(self, model):
        return tflite_deeplab.convert_deeplab(tflite_deeplab.recognize_deeplab(model))

    def test_wrong_dilation(self):
        model = copy.deepcopy(self.deeplab)
        dws = [op for op in model.operators if op.opcode == "DEPTHWISE_CONV_2D"]
        dws[15].options["dilation_h_factor"] = dws[15].options["dilation_w_factor"] = 4
        self.assert_refused(model, self.convert_deeplab, "block 15", "dilation 4",
                            "output stride 16", "dilation 2")

    def test_aspp_branches_swapped(self):
        model = copy.deepcopy(self.deeplab)
        concat = _find(model, "CONCATENATION")
        concat.inputs.reverse()
        self.assert_refused(model, self.convert_deeplab, "image pooling")

    def test_resize_convention(self):
        model = copy.deepcopy(self.deeplab)
        _find(model, "RESIZE_BILINEAR").options["align_corners"] = 0
        self.assert_refused(model, self.convert_deeplab, "align_corners")

    def test_pool_not_global(self):
        model = copy.deepcopy(self.deeplab)
        _find(model, "AVERAGE_POOL_2D").options["filter_height"] = 3
        self.assert_refused(model, self.convert_deeplab, "global")


class TorchHeadErrorsTest(unittest.TestCase):
    """The torch path refuses state dicts and options that do not fit."""

    def convert(self, module, *args):
        import torch
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "s.pth")
            torch.save(module.state_dict(), state)
            return subprocess.run([sys.executable, env.CONVERTER, "torch", state, "-o",
                                   os.path.join(tmp, "o.st"), "--input-size", "65"] + list(args),
                                  capture_output=True, text=True)

    def test_atrous_rates_must_match_branches(self):
        try:
            import torch_deeplab
        except ImportError:
            self.skipTest("torch missing")
        module = torch_deeplab.DeepLabV3(0.5, 4, aspp="full", atrous_rates=[2, 3],
                                         aspp_channels=16)
        result = self.convert(module, "--atrous-rates", "6")
        self.assertEqual(result.returncode, 1)
        self.assertIn("2 atrous branches, but 1 rates", result.stderr)
        self.assertEqual(self.convert(module, "--atrous-rates", "2", "3").returncode, 0)

    def test_leftover_keys_are_named(self):
        try:
            import torch
            import torch_ssd
        except ImportError:
            self.skipTest("torch missing")
        module = torch_ssd.SSD("v1", 0.25, 5, [[16, 32]], [3, 6, 6])
        module.stray = torch.nn.Linear(3, 2)
        result = self.convert(module)
        self.assertEqual(result.returncode, 1)
        self.assertIn("stray.weight", result.stderr)


if __name__ == "__main__":
    unittest.main()
