#!/usr/bin/python3
"""TFLite conversion.

Synthetic models (written here with the flatbuffers Builder, random float32,
uint8 per-tensor and int8 per-channel weights) must convert to exactly the
dequantized tensors computed from the random values. The pretrained files
must convert with every stored weight equal to (raw - zero_point) * scale
recomputed in numpy from the raw tensors and the recorded parameters, and
every raw tensor found byte for byte in the .tflite file (after undoing the
layout change)."""

import datetime
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import st_read
import tflite_builder

V1_EXTRACTOR = "mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
V1_HEAD = "mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite"
V1_025 = "mobilenet_v1/mobilenet_v1_0.25_128_quant.tflite"
V2_QUANT = "mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"
V2_PTQ = "mobilenet_v2/tf2_mobilenet_v2_1.0_224_ptq.tflite"
LABELS = "mobilenet_v1/imagenet_labels_1001.txt"


def run_convert(*args):
    result = subprocess.run([sys.executable, env.CONVERTER] + [str(a) for a in args],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("mnet_convert %s failed: %s" % (" ".join(map(str, args)),
                                                             result.stderr))
    return result


def recompute(raw, entry):
    """(raw - zero_point) * scale along axis 0, in float64."""
    shape = [-1] + [1] * (raw.ndim - 1)
    scale = np.asarray(entry["scale"], np.float64).reshape(shape)
    zero_point = np.asarray(entry["zero_point"], np.float64).reshape(shape)
    return (raw.astype(np.float64) - zero_point) * scale


class SyntheticTFLiteTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def convert_synthetic(self, dm, size, mode, seed, dtype):
        data, expected, raw, in_params = tflite_builder.make_v1(dm, size, mode, seed)
        src = os.path.join(self.tmp.name, "m.tflite")
        with open(src, "wb") as f:
            f.write(data)
        out = os.path.join(self.tmp.name, "m_%s.safetensors" % dtype)
        extra = ["--mean", "127.5", "--std", "127.5"] if mode == "float32" else []
        run_convert("tflite", src, "-o", out, "--dtype", dtype, *extra)
        tensors, metadata, _ = st_read.read(out)
        return tensors, st_read.read_json_metadata(metadata), expected, raw, in_params

    def test_dequantized_tensors_match_generated_values(self):
        cases = [(0.25, 33, "float32", 1), (0.25, 40, "uint8", 2), (0.5, 29, "int8", 3),
                 (0.75, 24, "uint8", 4)]
        for dm, size, mode, seed in cases:
            for dtype in ("f32", "f16"):
                with self.subTest(dm=dm, size=size, mode=mode, dtype=dtype):
                    tensors, meta, expected, raw, in_params = self.convert_synthetic(
                        dm, size, mode, seed, dtype)
                    config = meta["mnet.config"]
                    self.assertEqual(config["depth_multiplier"], dm)
                    self.assertEqual(config["input"]["height"], size)
                    self.assertEqual(config["num_classes"], 11)
                    self.assertEqual(config["padding"], "tf_same")
                    float_type = np.float32 if dtype == "f32" else np.float16
                    for name, want in expected.items():
                        self.assertEqual(tensors[name].dtype, float_type, name)
                        np.testing.assert_array_equal(tensors[name], want.astype(float_type),
                                                      err_msg=name)
                    floats = {k for k in tensors if not k.endswith(".q")}
                    self.assertEqual(floats, set(expected))
                    if mode == "float32":
                        self.assertNotIn("mnet.quantization", meta)
                        self.assertEqual(config["input"]["mean"], [127.5] * 3)
                        continue
                    self.assertEqual({k for k in tensors if k.endswith(".q")}, set(raw))
                    for name, want in raw.items():
                        self.assertEqual(tensors[name].dtype, want.dtype, name)
                        np.testing.assert_array_equal(tensors[name], want, err_msg=name)
                    q = meta["mnet.quantization"]
                    self.assertEqual(q["scheme"], "uint8_asymmetric" if mode == "uint8"
                                     else "int8_per_channel")
                    for name, entry in q["tensors"].items():
                        self.assertEqual(entry["axis"], 0)
                        np.testing.assert_allclose(recompute(tensors[entry["raw"]], entry),
                                                   expected[name], rtol=1e-12, err_msg=name)
                    # real = (q - zp) * scale: mean = zp, std = 1 / scale.
                    self.assertEqual(config["input"]["mean"], [float(in_params["zero_point"])] * 3)
                    self.assertEqual(config["input"]["std"], [128.0] * 3)
                    self.assertEqual(q["input"]["zero_point"], in_params["zero_point"])
                    taps = set(q["activations"])
                    self.assertIn("conv0", taps)
                    self.assertIn("block12/output", taps)
                    self.assertIn("block5/depthwise", taps)
                    self.assertIn("logits", taps)
                    self.assertIn("output", q)


class PretrainedTFLiteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env.skip_test_without_shared_models(V1_EXTRACTOR, V1_HEAD, V1_025, V2_QUANT, V2_PTQ, LABELS)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def convert(self, name, *args):
        out = os.path.join(self.tmp.name, name + ".safetensors")
        run_convert("tflite", *args, "-o", out, "--labels", env.shared_model(LABELS),
                    "--license", "Apache-2.0")
        tensors, metadata, _ = st_read.read(out)
        return tensors, st_read.read_json_metadata(metadata)

    def check_against_file(self, tensors, meta, sources):
        blob = b""
        for source in sources:
            with open(env.shared_model(source), "rb") as f:
                blob += f.read()
        q = meta["mnet.quantization"]
        self.assertTrue(q["tensors"])
        for name, entry in q["tensors"].items():
            raw = tensors[entry["raw"]]
            stored = tensors[name]
            self.assertEqual(stored.dtype, np.float16)
            self.assertEqual(stored.shape, raw.shape, name)
            # Stored weights are the fp16 rounding of the dequantized raw values.
            np.testing.assert_array_equal(stored, recompute(raw, entry).astype(np.float16),
                                          err_msg=name)
            # The raw values are the file's own bytes, in TFLite's layout.
            if name.endswith(".bias"):
                self.assertEqual(raw.dtype, np.int32, name)
                file_layout = raw
            elif ".dw." in name:
                file_layout = raw[..., 0].transpose(1, 2, 0)[None]   # [C,kh,kw,1] -> [1,kh,kw,C]
            else:
                file_layout = raw
            self.assertNotEqual(blob.find(np.ascontiguousarray(file_layout).tobytes()), -1,
                                "%s: raw bytes not found in the source file" % name)
            if len(entry["scale"]) > 1:
                scales = np.asarray(entry["scale"], np.float32).tobytes()
                self.assertNotEqual(blob.find(scales), -1, "%s: scales not in the file" % name)

    def check_common(self, meta, sources, architecture, dm, size, classes=1001):
        config = meta["mnet.config"]
        self.assertEqual(meta["format"], "mnet")
        self.assertEqual(meta["mnet.format_version"], "1")
        self.assertEqual(config["architecture"], architecture)
        self.assertEqual(config["depth_multiplier"], dm)
        self.assertEqual((config["input"]["height"], config["input"]["width"]), (size, size))
        self.assertEqual(config["padding"], "tf_same")
        self.assertEqual(config["num_classes"], classes)
        self.assertEqual(config["preprocess"]["crop_fraction"], 0.875)
        labels = meta["mnet.labels"]
        self.assertEqual(len(labels), 1001)
        self.assertEqual(labels[0], "background")
        prov = meta["mnet.provenance"]
        self.assertEqual(prov["license"], "Apache-2.0")
        self.assertEqual(prov["converter"], "mnet_convert")
        self.assertTrue(prov["converter_version"])
        datetime.date.fromisoformat(prov["date"])
        for source, entry in zip(list(sources) + [LABELS], prov["sources"]):
            path = env.shared_model(source)
            self.assertEqual(entry["file"], os.path.basename(path))
            with open(path, "rb") as f:
                self.assertEqual(entry["sha256"], hashlib.sha256(f.read()).hexdigest())

    def test_v1_split_extractor_and_head(self):
        tensors, meta = self.convert("v1", env.shared_model(V1_EXTRACTOR), "--head",
                                     env.shared_model(V1_HEAD))
        self.check_common(meta, [V1_EXTRACTOR, V1_HEAD], "mobilenet_v1", 1.0, 224)
        config = meta["mnet.config"]
        self.assertEqual(config["input"]["mean"], [128.0] * 3)
        self.assertEqual(config["input"]["std"], [128.0] * 3)
        self.assertEqual(list(tensors["classifier.weight"].shape), [1001, 1024])
        self.assertEqual(tensors["classifier.weight.q"].dtype, np.uint8)
        q = meta["mnet.quantization"]
        self.assertEqual(q["scheme"], "uint8_asymmetric")
        self.assertEqual(q["input"], {"scale": 0.0078125, "zero_point": 128})
        # The seam: pooled activations of the extractor = input of the head.
        self.assertAlmostEqual(q["activations"]["pool"]["scale"], 0.023528477, places=8)
        self.assertEqual(q["activations"]["pool"]["zero_point"], 0)
        self.assertEqual(len([k for k in q["activations"] if k.endswith("/output")]), 13)
        self.check_against_file(tensors, meta, [V1_EXTRACTOR, V1_HEAD])

    def test_v1_025_single_file(self):
        tensors, meta = self.convert("v1_025", env.shared_model(V1_025))
        self.check_common(meta, [V1_025], "mobilenet_v1", 0.25, 128)
        self.assertEqual(list(tensors["blocks.12.pw.weight"].shape), [256, 1, 1, 256])
        self.check_against_file(tensors, meta, [V1_025])

    def test_v2_uint8(self):
        tensors, meta = self.convert("v2", env.shared_model(V2_QUANT))
        self.check_common(meta, [V2_QUANT], "mobilenet_v2", 1.0, 224)
        self.assertEqual(meta["mnet.config"]["last_channels"], 1280)
        self.assertNotIn("blocks.0.expand.weight", tensors)
        self.assertEqual(list(tensors["blocks.16.expand.weight"].shape), [960, 1, 1, 160])
        q = meta["mnet.quantization"]
        for i in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15):   # the ten residual blocks
            self.assertIn("block%d/output" % i, q["activations"])
        self.assertIn("block13/expand", q["activations"])
        self.assertIn("conv_last", q["activations"])
        self.assertNotIn("pool_op", q)  # AVERAGE_POOL_2D: the default
        self.check_against_file(tensors, meta, [V2_QUANT])

    def test_v2_int8_per_channel(self):
        tensors, meta = self.convert("v2_ptq", env.shared_model(V2_PTQ))
        self.check_common(meta, [V2_PTQ], "mobilenet_v2", 1.0, 224)
        q = meta["mnet.quantization"]
        self.assertEqual(q["scheme"], "int8_per_channel")
        self.assertEqual(tensors["blocks.3.dw.weight.q"].dtype, np.int8)
        self.assertEqual(len(q["tensors"]["blocks.3.dw.weight"]["scale"]), 144)
        self.assertEqual(q["model_input"]["zero_point"], 127)
        # global pooling is a MEAN with its own output scale: the int8 path
        # must use MEAN's requantization, not AVERAGE_POOL_2D's
        self.assertEqual(q["pool_op"], "mean")
        self.assertNotEqual(q["activations"]["pool"]["scale"], q["activations"]["conv_last"]["scale"])
        self.assertIn("block15/project", q["activations"])
        config = meta["mnet.config"]
        self.assertEqual(config["input"]["mean"], [127.0] * 3)
        self.assertEqual(config["input"]["std"], [127.5] * 3)
        self.check_against_file(tensors, meta, [V2_PTQ])

    def test_split_head_with_other_seam_scale_is_rejected(self):
        with open(env.shared_model(V1_HEAD), "rb") as f:
            blob = f.read()
        seam = struct.pack("<f", 0.023528477177023888)
        self.assertEqual(blob.count(seam), 1)
        bad = os.path.join(self.tmp.name, "head_bad.tflite")
        with open(bad, "wb") as f:
            f.write(blob.replace(seam, struct.pack("<f", 0.03125)))
        result = subprocess.run([sys.executable, env.CONVERTER, "tflite",
                                 env.shared_model(V1_EXTRACTOR), "--head", bad, "-o",
                                 os.path.join(self.tmp.name, "x.safetensors")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("output quantization", result.stderr)
        self.assertIn("0.03125", result.stderr)


if __name__ == "__main__":
    unittest.main()
