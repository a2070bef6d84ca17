#!/usr/bin/python3
"""Inputs the converters must refuse with a clear message (and, from the
CLI, exit status 1 with one error line, no traceback): unknown operators,
wrong strides and shapes, truncated or foreign files, incomplete TF.js
models, odd PyTorch state dicts, label files of the wrong length."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import arch_spec
import converted_model
import keras_convert
import tflite_builder
import tflite_convert
import tflite_graph
import tflite_reader
import torch_convert

V1_025 = "mobilenet_v1/mobilenet_v1_0.25_128_quant.tflite"
TFJS = "mobilenet_v1/tfjs_keras_mobilenet_v1_0.75_224"


def cli(*args):
    return subprocess.run([sys.executable, env.CONVERTER] + [str(a) for a in args],
                          capture_output=True, text=True)


class ConverterErrorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write_synthetic(self, mutate):
        data = tflite_builder.make_v1(0.25, 32, "uint8", 5, mutate=mutate)[0]
        with open(self.path("bad.tflite"), "wb") as f:
            f.write(data)
        return self.path("bad.tflite")

    def assert_cli_error(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertTrue(result.stderr.startswith("mnet_convert.py: error: "), result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_unknown_operator(self):
        result = cli("tflite", self.write_synthetic("unknown_op"), "-o", self.path("o.st"))
        self.assert_cli_error(result, "operator 9 (TANH)", "blocks.3.pw/out",
                              "DEPTHWISE_CONV_2D")

    def test_wrong_stride(self):
        result = cli("tflite", self.write_synthetic("stride"), "-o", self.path("o.st"))
        self.assert_cli_error(result, "blocks.1.dw", "stride (1, 1), expected 2")

    def test_wrong_weight_shape(self):
        result = cli("tflite", self.write_synthetic("shape"), "-o", self.path("o.st"))
        self.assert_cli_error(result, "blocks.7.pw/weights", "read 136 channels, the input has 128")

    def test_truncated_tflite(self):
        env.skip_test_without_shared_models(V1_025)
        with open(env.shared_model(V1_025), "rb") as f:
            blob = f.read()
        # Coral appended a zip of the label file after the flatbuffer; nothing
        # in the model refers to it, so cutting it off changes nothing.
        end = blob.find(b"PK\x03\x04")
        end = len(blob) if end < 0 else end
        for cut in (0, 5, 7, 64, end // 10, end // 2, end * 9 // 10, end - 100, end - 1):
            with self.subTest(cut=cut):
                with self.assertRaises(tflite_reader.TFLiteFormatError) as ctx:
                    tflite_reader.parse_tflite(blob[:cut], "cut.tflite")
                self.assertIn("cut.tflite", str(ctx.exception))
        with open(self.path("cut.tflite"), "wb") as f:
            f.write(blob[:len(blob) // 2])
        self.assert_cli_error(cli("tflite", self.path("cut.tflite"), "-o", self.path("o.st")),
                              "cut.tflite", "past the end of the file")

    def test_random_corruption_never_crashes_the_reader(self):
        env.skip_test_without_shared_models(V1_025)
        with open(env.shared_model(V1_025), "rb") as f:
            blob = bytearray(f.read())
        rng = np.random.default_rng(11)
        header = 4096  # the tables sit at the front, the weight buffers behind them
        for _ in range(60):
            bad = bytearray(blob)
            for pos in rng.integers(0, header, 4):
                bad[pos] = int(rng.integers(0, 256))
            try:
                model = tflite_reader.parse_tflite(bytes(bad), "fuzz.tflite")
                tflite_graph.recognize(model)
            except arch_spec.ArchitectureError:
                pass  # includes RecognitionError; TFLiteFormatError is a ValueError
            except tflite_reader.TFLiteFormatError:
                pass

    def test_not_a_tflite_file(self):
        with open(self.path("x.tflite"), "wb") as f:
            f.write(b'{"modelTopology": 1}')
        self.assert_cli_error(cli("tflite", self.path("x.tflite"), "-o", self.path("o.st")),
                              "not a TFLite model")

    def test_dilated_graph_is_not_a_classifier(self):
        # DeepLab's dilated backbone converts as a segmenter, never as a classifier.
        path = env.shared_model("deeplabv3_mnv2_pascal/deeplabv3_257_mv_gpu.tflite")
        if not os.path.exists(path):
            self.skipTest("deeplab model missing")
        with self.assertRaises(tflite_graph.RecognitionError) as ctx:
            tflite_graph.recognize(tflite_reader.read_tflite(path))
        for fragment in ("blocks.6.dw", "stride (1, 1), expected 2"):
            self.assertIn(fragment, str(ctx.exception))

    def copy_tfjs(self):
        env.skip_test_without_shared_models(TFJS)
        target = self.path("tfjs")
        shutil.copytree(env.shared_model(TFJS), target)
        for name in os.listdir(target):
            os.chmod(os.path.join(target, name), 0o644)
        return target

    def test_tfjs_truncated_shard(self):
        model_dir = self.copy_tfjs()
        shard = os.path.join(model_dir, "group31-shard1of1")
        with open(shard, "rb") as f:
            data = f.read()
        with open(shard, "wb") as f:
            f.write(data[:1000])
        self.assert_cli_error(cli("tfjs", model_dir, "-o", self.path("o.st")),
                              "conv_pw_10/kernel", "truncated shard")

    def test_tfjs_missing_weight(self):
        model_dir = self.copy_tfjs()
        with open(os.path.join(model_dir, "model.json")) as f:
            doc = json.load(f)
        doc["weightsManifest"] = [g for g in doc["weightsManifest"]
                                  if g["weights"][0]["name"] != "conv_dw_5_bn/gamma"]
        with open(os.path.join(model_dir, "model.json"), "w") as f:
            json.dump(doc, f)
        with self.assertRaisesRegex(keras_convert.KerasModelError,
                                    "'conv_dw_5_bn/moving_mean' is missing"):
            keras_convert.convert_tfjs(model_dir)

    def test_tfjs_not_json(self):
        model_dir = self.copy_tfjs()
        with open(os.path.join(model_dir, "model.json"), "w") as f:
            f.write("{not json")
        self.assert_cli_error(cli("tfjs", model_dir, "-o", self.path("o.st")), "not valid JSON")

    def torch_v1_state(self):
        import torch
        import torch_mobilenet
        module = torch_mobilenet.randomize(torch_mobilenet.MobileNetV1(0.25, 7),
                                           torch.Generator().manual_seed(1))
        return {k: v.double().numpy() for k, v in module.state_dict().items()
                if not k.endswith("num_batches_tracked")}

    def test_torch_wrong_shape(self):
        state = self.torch_v1_state()
        state["blocks.4.pw.conv.weight"] = np.ones((72, 32, 1, 1))
        for key in ("weight", "bias", "running_mean", "running_var"):
            state["blocks.4.pw.bn." + key] = np.ones(72)
        with self.assertRaisesRegex(arch_spec.ArchitectureError, "widths .* match no depth"):
            torch_convert.convert_state_dict(state)

    def test_torch_unexpected_and_missing_keys(self):
        state = self.torch_v1_state()
        state["head.extra.weight"] = np.ones(3)
        with self.assertRaisesRegex(torch_convert.TorchModelError, "head.extra.weight"):
            torch_convert.convert_state_dict(state)
        state = self.torch_v1_state()
        del state["blocks.9.dw.bn.running_var"]
        with self.assertRaisesRegex(torch_convert.TorchModelError,
                                    "'blocks.9.dw.bn.running_var' is missing"):
            torch_convert.convert_state_dict(state)
        with self.assertRaisesRegex(torch_convert.TorchModelError, "neither"):
            torch_convert.convert_state_dict({"fc.weight": np.ones((2, 2))})

    def test_torch_garbage_file(self):
        with open(self.path("x.pth"), "wb") as f:
            f.write(b"\x00garbage" * 10)
        self.assert_cli_error(cli("torch", self.path("x.pth"), "-o", self.path("o.st")),
                              "x.pth", "torch.load")

    def test_writer_checks_every_shape(self):
        data = tflite_builder.make_v1(0.25, 32, "float32", 6)[0]
        model = tflite_convert.convert_graph(
            tflite_graph.recognize(tflite_reader.parse_tflite(data)), mean=[0] * 3, std=[1] * 3)
        model.tensors["blocks.3.dw.bias"] = np.ones(31)
        with self.assertRaisesRegex(arch_spec.ArchitectureError,
                                    r"'blocks.3.dw.bias' has shape \[31\], expected \[32\]"):
            converted_model.write_model(self.path("o.st"), model)
        model.tensors["blocks.3.dw.bias"] = np.ones(32)
        model.tensors["stray"] = np.ones(2)
        with self.assertRaisesRegex(arch_spec.ArchitectureError, "unexpected tensor 'stray'"):
            converted_model.write_model(self.path("o.st"), model)
        del model.tensors["stray"]
        model.tensors["classifier.weight"][0, 0] = np.nan
        with self.assertRaisesRegex(arch_spec.ArchitectureError, "non-finite"):
            converted_model.write_model(self.path("o.st"), model)

    def test_float_model_needs_normalization(self):
        data = tflite_builder.make_v1(0.25, 32, "float32", 6)[0]
        with open(self.path("f.tflite"), "wb") as f:
            f.write(data)
        self.assert_cli_error(cli("tflite", self.path("f.tflite"), "-o", self.path("o.st")),
                              "--mean and --std")

    def test_label_count_mismatch(self):
        with open(self.path("labels.txt"), "w") as f:
            f.write("a\nb\nc\n")
        result = cli("tflite", self.write_synthetic(None), "-o", self.path("o.st"),
                     "--labels", self.path("labels.txt"))
        self.assert_cli_error(result, "has 3 labels, the model has 11 classes")


if __name__ == "__main__":
    unittest.main()
