"""Keras MobileNet V1 (keras.applications naming: conv1, conv_dw_K, conv_pw_K,
their _bn layers, conv_preds) from a TF.js layers model (model.json + weight
shards) or a Keras .h5 file -> ConvertedModel.

Keras stores Conv2D kernels HWIO, DepthwiseConv2D kernels [kh,kw,C,1] and
keeps BatchNorm unfolded (epsilon from the layer config, 1e-3 by default);
the classifier is a 1x1 conv with bias, input x/127.5 - 1."""

import json
import os

import numpy as np

import arch_spec
import bn_fold
import converted_model

KERAS_BN_EPS = 1e-3


class KerasModelError(arch_spec.ArchitectureError):
    """The Keras/TF.js files are malformed or not a MobileNet V1."""


def _short_name(name):
    """'mobilenet/conv1/kernel:0' -> 'conv1/kernel'."""
    name = name.split(":")[0]
    parts = name.split("/")
    return "/".join(parts[-2:])


def read_tfjs(model_dir):
    """Returns (layers config list, weights dict, list of files read)."""
    json_path = os.path.join(model_dir, "model.json") if os.path.isdir(model_dir) else model_dir
    base = os.path.dirname(json_path)
    with open(json_path, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as exc:
            raise KerasModelError("%s: not valid JSON (%s)" % (json_path, exc)) from None
    try:
        topology = doc["modelTopology"]
        layers = topology.get("model_config", topology)["config"]["layers"]
        manifest = doc["weightsManifest"]
    except (KeyError, TypeError) as exc:
        raise KerasModelError("%s: not a TF.js layers model (missing %s)" % (json_path, exc)) from None
    weights, files = {}, [json_path]
    for group in manifest:
        blob = b""
        for shard in group["paths"]:
            path = os.path.join(base, shard)
            if not os.path.exists(path):
                raise KerasModelError("%s: weight shard %s is missing" % (json_path, path))
            with open(path, "rb") as f:
                blob += f.read()
            files.append(path)
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant:
                qtype = {"uint8": "u1", "uint16": "<u2"}.get(quant.get("dtype"))
                if qtype is None:
                    raise KerasModelError("%s: weight %s: quantization %s not supported"
                                          % (json_path, spec["name"], quant))
                nbytes = count * np.dtype(qtype).itemsize
            elif spec.get("dtype", "float32") == "float32":
                nbytes = count * 4
            else:
                raise KerasModelError("%s: weight %s has dtype %s, expected float32"
                                      % (json_path, spec["name"], spec.get("dtype")))
            if offset + nbytes > len(blob):
                raise KerasModelError("%s: weight %s needs bytes %d..%d, its shards hold %d "
                                      "(truncated shard?)" % (json_path, spec["name"], offset,
                                                              offset + nbytes, len(blob)))
            raw = blob[offset:offset + nbytes]
            if quant:
                values = (np.frombuffer(raw, qtype).astype(np.float64) * quant["scale"]
                          + quant["min"])
            else:
                values = np.frombuffer(raw, "<f4").astype(np.float64)
            weights[_short_name(spec["name"])] = values.reshape(shape)
            offset += nbytes
        if offset != len(blob):
            raise KerasModelError("%s: shards %s hold %d bytes, the manifest describes %d"
                                  % (json_path, group["paths"], len(blob), offset))
    return layers, weights, files


def read_h5(path):
    """Keras .h5 (full model or save_weights file). Returns (layers config
    list or [], weights dict, [path])."""
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise KerasModelError("%s: cannot be read as HDF5 (%s)" % (path, exc)) from None
    with f:
        layers = []
        if "model_config" in f.attrs:
            text = f.attrs["model_config"]
            config = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
            layers = config["config"]["layers"]
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise KerasModelError("%s: no 'layer_names' attribute; not a Keras weights file" % path)
        weights = {}
        for layer in group.attrs["layer_names"]:
            layer = layer.decode("utf-8") if isinstance(layer, bytes) else layer
            g = group[layer]
            for wname in g.attrs.get("weight_names", []):
                wname = wname.decode("utf-8") if isinstance(wname, bytes) else wname
                weights[_short_name(wname)] = np.asarray(g[wname], np.float64)
    return layers, weights, [path]


def _layer_configs(layers):
    return {layer.get("config", {}).get("name", layer.get("name")): layer for layer in layers}


def _input_size(configs, input_size):
    for layer in configs.values():
        if layer.get("class_name") == "InputLayer":
            shape = layer["config"].get("batch_input_shape")
            if shape and shape[1] and shape[2]:
                return int(shape[1]), int(shape[2])
    if input_size:
        return input_size
    raise KerasModelError("the model does not state its input size; give --input-size")


def _padding(configs, height, width):
    pads = [c for c in configs.values() if c.get("class_name") == "ZeroPadding2D"]
    for layer in pads:
        # Newer Keras pads (0,1) explicitly then uses VALID: TF SAME for even sizes only.
        if layer["config"].get("padding") not in ([[0, 1], [0, 1]], [[1, 1], [1, 1]]):
            raise KerasModelError("layer %s: padding %s is not supported"
                                  % (layer["config"]["name"], layer["config"].get("padding")))
        if layer["config"]["padding"] == [[0, 1], [0, 1]] and (height % 2 or width % 2):
            raise KerasModelError("layer %s: explicit (0,1) padding equals TF SAME only for even "
                                  "input sizes, not %dx%d" % (layer["config"]["name"], height, width))
    return "tf_same"


def convert_keras_v1(layers, weights, input_size=None, name=None, source_kind="Keras"):
    configs = _layer_configs(layers)
    used = set()

    def take(key):
        if key not in weights:
            raise KerasModelError("weight '%s' is missing (found: %s...)"
                                  % (key, ", ".join(sorted(weights)[:6])))
        used.add(key)
        return weights[key]

    def bn(layer):
        eps = configs.get(layer, {}).get("config", {}).get("epsilon", KERAS_BN_EPS)
        channels = take(layer + "/moving_mean").shape[0]
        gamma = take(layer + "/gamma") if layer + "/gamma" in weights else np.ones(channels)
        beta = take(layer + "/beta") if layer + "/beta" in weights else np.zeros(channels)
        return gamma, beta, take(layer + "/moving_mean"), take(layer + "/moving_variance"), eps

    def check_conv(layer, stride):
        config = configs.get(layer, {}).get("config")
        if config is None:
            return
        if list(config.get("strides", [stride, stride])) != [stride, stride]:
            raise KerasModelError("layer %s: strides %s, MobileNet V1 has %d"
                                  % (layer, config.get("strides"), stride))
        if list(config.get("dilation_rate", [1, 1])) != [1, 1]:
            raise KerasModelError("layer %s: dilation %s is not supported"
                                  % (layer, config.get("dilation_rate")))

    def conv(layer, key, to_ohwi, stride):
        check_conv(layer, stride)
        kernel = take(layer + "/" + key)
        expected_rank = 4
        if kernel.ndim != expected_rank:
            raise KerasModelError("weight '%s/%s' has shape %s, expected rank 4"
                                  % (layer, key, list(kernel.shape)))
        bias = take(layer + "/bias") if layer + "/bias" in weights else None
        weight = kernel.transpose(to_ohwi)
        gamma, beta, mean, var, eps = bn(layer + "_bn")
        return bn_fold.fold_batchnorm(weight, bias, gamma, beta, mean, var, eps)

    tensors = {}
    hwio_to_ohwi = (3, 0, 1, 2)
    dw_to_ohwi = (2, 0, 1, 3)       # [kh,kw,C,1] -> [C,kh,kw,1]
    tensors["conv0.weight"], tensors["conv0.bias"] = conv("conv1", "kernel", hwio_to_ohwi, 2)
    widths = [tensors["conv0.weight"].shape[0]]
    for i in range(13):
        k = i + 1
        dw_w, dw_b = conv("conv_dw_%d" % k, "depthwise_kernel", dw_to_ohwi, arch_spec.V1_DW_STRIDES[i])
        pw_w, pw_b = conv("conv_pw_%d" % k, "kernel", hwio_to_ohwi, 1)
        tensors["blocks.%d.dw.weight" % i], tensors["blocks.%d.dw.bias" % i] = dw_w, dw_b
        tensors["blocks.%d.pw.weight" % i], tensors["blocks.%d.pw.bias" % i] = pw_w, pw_b
        widths.append(pw_w.shape[0])
    num_classes = 0
    if "conv_preds/kernel" in weights:
        kernel = take("conv_preds/kernel")
        if kernel.ndim != 4 or kernel.shape[:2] != (1, 1):
            raise KerasModelError("weight 'conv_preds/kernel' has shape %s, expected [1,1,C,N]"
                                  % list(kernel.shape))
        tensors["classifier.weight"] = kernel.reshape(kernel.shape[2], kernel.shape[3]).T
        tensors["classifier.bias"] = take("conv_preds/bias")
        num_classes = kernel.shape[3]
    elif "predictions/kernel" in weights:
        kernel = take("predictions/kernel")
        tensors["classifier.weight"] = kernel.T
        tensors["classifier.bias"] = take("predictions/bias")
        num_classes = kernel.shape[1]
    left = sorted(set(weights) - used)
    if left:
        raise KerasModelError("weights not part of a Keras MobileNet V1: %s" % ", ".join(left[:8]))
    dm = arch_spec.derive_v1_multiplier(widths)
    height, width = _input_size(configs, input_size)
    padding = _padding(configs, height, width)
    return converted_model.ConvertedModel(
        architecture="mobilenet_v1",
        name=name or "MobileNet V1 %r %d (%s float)" % (float(dm), height, source_kind),
        depth_multiplier=dm, padding=padding, input_height=height, input_width=width,
        mean=[127.5] * 3, std=[127.5] * 3, num_classes=num_classes, tensors=tensors)


def convert_tfjs(model_dir, input_size=None, name=None):
    layers, weights, files = read_tfjs(model_dir)
    return convert_keras_v1(layers, weights, input_size, name, "Keras via TF.js"), files


def convert_h5(path, input_size=None, name=None):
    layers, weights, files = read_h5(path)
    return convert_keras_v1(layers, weights, input_size, name, "Keras"), files
