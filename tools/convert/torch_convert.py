"""PyTorch state dicts -> ConvertedModel:
* torchvision MobileNetV2 (features.0.0.weight ... features.18, classifier.1),
* MobileNet V1 in the layout of tests/models/torch_mobilenet.py
  (conv0.conv / conv0.bn, blocks.{i}.dw|pw.conv / .bn, classifier).
Conv weights are OIHW ([O, I/groups, kh, kw]) and become OHWI; BatchNorm is
folded with eps (1e-5 in PyTorch unless the model says otherwise)."""

import arch_spec
import bn_fold
import converted_model

TORCH_BN_EPS = 1e-5
IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


class TorchModelError(arch_spec.ArchitectureError):
    """The state dict is not a MobileNet this converter knows."""


def load_state_dict(path):
    import torch  # only this converter needs torch
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as exc:  # torch raises many kinds for a corrupt file
        raise TorchModelError("%s: cannot be loaded with torch.load (%s)" % (path, exc)) from None
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise TorchModelError("%s: holds a %s, not a state dict" % (path, type(obj).__name__))
    state = {}
    for key, value in obj.items():
        if key.startswith("module."):
            key = key[len("module."):]
        if key.endswith("num_batches_tracked"):
            continue
        state[key] = value.detach().cpu().double().numpy()
    return state


class _Reader:
    def __init__(self, state, eps):
        self.state, self.eps, self.used = state, eps, set()

    def take(self, key, rank=None):
        if key not in self.state:
            raise TorchModelError("key '%s' is missing from the state dict" % key)
        value = self.state[key]
        if rank is not None and value.ndim != rank:
            raise TorchModelError("'%s' has shape %s, expected rank %d"
                                  % (key, list(value.shape), rank))
        self.used.add(key)
        return value

    def conv_bn(self, conv_key, bn_prefix):
        weight = self.take(conv_key, 4).transpose(0, 2, 3, 1)  # OIHW -> OHWI
        bias_key = conv_key[:-len("weight")] + "bias"
        bias = self.take(bias_key) if bias_key in self.state else None
        p = bn_prefix
        return bn_fold.fold_batchnorm(weight, bias, self.take(p + ".weight"), self.take(p + ".bias"),
                                      self.take(p + ".running_mean"), self.take(p + ".running_var"),
                                      self.eps)

    def check_all_used(self, family):
        left = sorted(set(self.state) - self.used)
        if left:
            raise TorchModelError("keys not part of a %s: %s" % (family, ", ".join(left[:8])))


def _classifier(reader, key, tensors):
    if key + ".weight" not in reader.state:
        return 0
    tensors["classifier.weight"] = reader.take(key + ".weight", 2)
    tensors["classifier.bias"] = reader.take(key + ".bias", 1)
    return tensors["classifier.weight"].shape[0]


def convert_torchvision_v2(state, eps, divisors=(8,)):
    r = _Reader(state, eps)
    tensors = {}
    tensors["conv0.weight"], tensors["conv0.bias"] = r.conv_bn("features.0.0.weight", "features.0.1")
    outputs = []
    for i in range(17):
        f = "features.%d.conv" % (i + 1)
        if f + ".3.weight" in state:       # expansion t != 1: expand, dw, project, bn
            tensors["blocks.%d.expand.weight" % i], tensors["blocks.%d.expand.bias" % i] = \
                r.conv_bn(f + ".0.0.weight", f + ".0.1")
            dw, project, project_bn = f + ".1", f + ".2.weight", f + ".3"
        else:                               # t == 1: dw, project, bn
            dw, project, project_bn = f + ".0", f + ".1.weight", f + ".2"
        tensors["blocks.%d.dw.weight" % i], tensors["blocks.%d.dw.bias" % i] = \
            r.conv_bn(dw + ".0.weight", dw + ".1")
        tensors["blocks.%d.project.weight" % i], tensors["blocks.%d.project.bias" % i] = \
            r.conv_bn(project, project_bn)
        outputs.append(tensors["blocks.%d.project.weight" % i].shape[0])
    last = 0
    if "features.18.0.weight" in state:
        tensors["conv_last.weight"], tensors["conv_last.bias"] = \
            r.conv_bn("features.18.0.weight", "features.18.1")
        last = tensors["conv_last.weight"].shape[0]
    num_classes = _classifier(r, "classifier.1", tensors)
    r.check_all_used("torchvision MobileNetV2")
    dm, _ = arch_spec.derive_v2_multiplier_and_divisor(tensors["conv0.weight"].shape[0], outputs,
                                                       divisors)
    return "mobilenet_v2", dm, last, num_classes, tensors


def convert_reference_v1(state, eps):
    r = _Reader(state, eps)
    tensors = {}
    tensors["conv0.weight"], tensors["conv0.bias"] = r.conv_bn("conv0.conv.weight", "conv0.bn")
    widths = [tensors["conv0.weight"].shape[0]]
    for i in range(13):
        for part in ("dw", "pw"):
            p = "blocks.%d.%s" % (i, part)
            tensors[p + ".weight"], tensors[p + ".bias"] = r.conv_bn(p + ".conv.weight", p + ".bn")
        widths.append(tensors["blocks.%d.pw.weight" % i].shape[0])
    num_classes = _classifier(r, "classifier", tensors)
    r.check_all_used("MobileNet V1 (mnet reference layout)")
    return "mobilenet_v1", arch_spec.derive_v1_multiplier(widths), None, num_classes, tensors


def convert_state_dict(state, input_size=(224, 224), padding="symmetric", eps=TORCH_BN_EPS,
                       mean=None, std=None, name=None, head_options=None):
    if padding not in ("symmetric", "tf_same"):
        raise ValueError("padding must be symmetric or tf_same, not %r" % padding)
    detector = any(k.startswith("heads.") for k in state)
    segmenter = any(k.startswith("aspp.") for k in state)
    if detector or segmenter:
        import torch_heads
        common = dict(name=name or "%s (PyTorch)" % ("SSD" if detector else "DeepLabv3"),
                      padding=padding, input_height=input_size[0], input_width=input_size[1],
                      mean=mean or IMAGENET_MEAN, std=std or IMAGENET_STD)
        convert = torch_heads.convert_ssd if detector else torch_heads.convert_deeplab
        return convert(state, eps, head_options or {}, **common)
    if "features.0.0.weight" in state:
        arch, dm, last, num_classes, tensors = convert_torchvision_v2(state, eps)
    elif "conv0.conv.weight" in state:
        arch, dm, last, num_classes, tensors = convert_reference_v1(state, eps)
    else:
        raise TorchModelError("state dict is neither a torchvision MobileNetV2 "
                              "('features.0.0.weight') nor an mnet reference MobileNet V1 "
                              "('conv0.conv.weight'); first keys: %s" % ", ".join(list(state)[:5]))
    if padding not in ("symmetric", "tf_same"):
        raise ValueError("padding must be symmetric or tf_same, not %r" % padding)
    family = "V1" if arch == "mobilenet_v1" else "V2"
    return converted_model.ConvertedModel(
        architecture=arch,
        name=name or "MobileNet %s %r %d (PyTorch)" % (family, float(dm), input_size[0]),
        depth_multiplier=dm, padding=padding, input_height=input_size[0],
        input_width=input_size[1], mean=mean or IMAGENET_MEAN, std=std or IMAGENET_STD,
        num_classes=num_classes, tensors=tensors, last_channels=last)


def convert_torch(path, head_options=None, **kwargs):
    return convert_state_dict(load_state_dict(path), head_options=head_options, **kwargs)
