#!/usr/bin/python3
"""TF.js / Keras MobileNet V1 0.75 conversion: the numpy forward pass of the
converted file (BN folded, OHWI) must equal a numpy forward pass of the
original TF.js weights with BatchNorm applied unfolded (float64 both), and a
Keras .h5 written here from the same weights must convert to the same
tensors."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import np_mobilenet
import st_read

TFJS = "mobilenet_v1/tfjs_keras_mobilenet_v1_0.75_224"
LABELS = "mobilenet_v1/imagenet_labels_1001.txt"


def load_tfjs_weights(model_dir):
    """Own minimal reading of model.json + shards (apart from keras_convert)."""
    with open(os.path.join(model_dir, "model.json")) as f:
        doc = json.load(f)
    weights = {}
    for group in doc["weightsManifest"]:
        blob = b""
        for shard in group["paths"]:
            with open(os.path.join(model_dir, shard), "rb") as f:
                blob += f.read()
        pos = 0
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"]))
            weights[spec["name"]] = np.frombuffer(blob, "<f4", n, pos).astype(np.float64) \
                .reshape(spec["shape"])
            pos += 4 * n
    return doc, weights


def convert(kind, source, out, *extra):
    cmd = [sys.executable, env.CONVERTER, kind, source, "-o", out] + list(extra)
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(cmd), result.stderr))


def write_keras_h5(path, doc, weights):
    """A Keras 2 full-model .h5: model_config attribute, model_weights group
    with layer_names, each layer's weight_names and datasets."""
    import h5py
    layers = doc["modelTopology"]["model_config"]["config"]["layers"]
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(doc["modelTopology"]["model_config"]).encode()
        f.attrs["keras_version"] = b"2.1.4"
        group = f.create_group("model_weights")
        names = [layer["name"] for layer in layers]
        group.attrs["layer_names"] = [n.encode() for n in names]
        for layer in names:
            g = group.create_group(layer)
            mine = [k for k in weights if k.split("/")[0] == layer]
            g.attrs["weight_names"] = [(k + ":0").encode() for k in mine]
            for k in mine:
                g.create_dataset(k + ":0", data=weights[k].astype(np.float32))


class KerasConvertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env.skip_test_without_shared_models(TFJS, LABELS)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model_dir = env.shared_model(TFJS)
        cls.doc, cls.weights = load_tfjs_weights(cls.model_dir)
        cls.paths = {}
        for dtype in ("f32", "f16"):
            cls.paths[dtype] = os.path.join(cls.tmp.name, "v1_075_%s.safetensors" % dtype)
            convert("tfjs", cls.model_dir, cls.paths[dtype], "--dtype", dtype,
                    "--labels", env.shared_model(LABELS))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_metadata(self):
        tensors, metadata, _ = st_read.read(self.paths["f16"])
        meta = st_read.read_json_metadata(metadata)
        config = meta["mnet.config"]
        self.assertEqual(meta["format"], "mnet")
        self.assertEqual(config["architecture"], "mobilenet_v1")
        self.assertEqual(config["depth_multiplier"], 0.75)
        self.assertEqual(config["padding"], "tf_same")
        self.assertEqual(config["num_classes"], 1000)
        self.assertEqual(config["input"]["mean"], [127.5] * 3)
        self.assertEqual(config["input"]["std"], [127.5] * 3)
        self.assertEqual(config["preprocess"], {"fit": "center_crop", "crop_fraction": 0.875})
        labels = meta["mnet.labels"]
        self.assertEqual(len(labels), 1000)
        with open(env.shared_model(LABELS)) as f:
            lines = f.read().splitlines()
        self.assertEqual(labels, lines[1:1001])
        self.assertEqual(tensors["conv0.weight"].dtype, np.float16)
        self.assertEqual(list(tensors["classifier.weight"].shape), [1000, 768])
        self.assertNotIn("mnet.quantization", meta)
        files = {s["file"] for s in meta["mnet.provenance"]["sources"]}
        self.assertIn("model.json", files)
        self.assertEqual(len(files), 57)  # model.json, 55 shards, labels

    def forward_error(self, dtype, size, seed):
        tensors, _, _ = st_read.read(self.paths[dtype])
        rng = np.random.default_rng(seed)
        x = rng.uniform(-1, 1, (size, size, 3))
        got = np_mobilenet.mnet_forward(tensors, "mobilenet_v1", "tf_same", x)
        want = np_mobilenet.keras_v1_forward(self.weights, x)
        # Error relative to the largest logit magnitude of the reference.
        return np.abs(got - want).max() / np.abs(want).max()

    def test_forward_f32_equals_unfolded_original(self):
        err = self.forward_error("f32", 224, 1)
        self.assertLess(err, 1e-5)

    def test_forward_f16_close_to_unfolded_original(self):
        # fp16 storage rounds every weight by up to 2^-11 relative.
        err = self.forward_error("f16", 160, 2)
        self.assertLess(err, 2e-2)

    def test_h5_gives_same_tensors(self):
        h5 = os.path.join(self.tmp.name, "mobilenet_0.75.h5")
        write_keras_h5(h5, self.doc, self.weights)
        out = os.path.join(self.tmp.name, "from_h5.safetensors")
        convert("keras", h5, out, "--dtype", "f32")
        from_h5, meta_h5, _ = st_read.read(out)
        from_tfjs, meta_tfjs, _ = st_read.read(self.paths["f32"])
        self.assertEqual(list(from_h5), list(from_tfjs))
        for name in from_tfjs:
            np.testing.assert_array_equal(from_h5[name], from_tfjs[name], err_msg=name)
        config_h5 = json.loads(meta_h5["mnet.config"])
        config_tfjs = json.loads(meta_tfjs["mnet.config"])
        for key in ("architecture", "depth_multiplier", "padding", "input", "num_classes"):
            self.assertEqual(config_h5[key], config_tfjs[key])


if __name__ == "__main__":
    unittest.main()
