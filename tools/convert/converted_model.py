"""The source-independent result of a conversion, and writing it as an mnet
file: every converter fills a ConvertedModel (float weights in mnet's layout,
BatchNorm folded) and calls write_model."""

import dataclasses

import numpy as np

import arch_spec
import head_spec
import model_metadata
import safetensors_writer


@dataclasses.dataclass
class ConvertedModel:
    architecture: str
    name: str
    depth_multiplier: float
    padding: str                 # "tf_same" or "symmetric"
    input_height: int
    input_width: int
    mean: list
    std: list
    num_classes: int
    tensors: dict                # name -> float array, mnet layout
    last_channels: int = None    # V2
    color: str = "rgb"
    fit: str = "center_crop"
    crop_fraction: float = 0.875
    raw_tensors: dict = dataclasses.field(default_factory=dict)  # "<name>.q" -> int array
    quantization: dict = None
    backbone: str = None         # SSD / DeepLab: "mobilenet_v1" or "mobilenet_v2"
    head: dict = None            # the "ssd" or "deeplab" config object
    output_stride: int = None    # DeepLab
    fill: list = None            # letterbox fill, R G B on the 0..255 scale
    divisible_by: int = None     # V2 width divisor when not 8 (DeepLab dm != 1)


# Stored as F32 whatever the weight dtype (the format says so).
FLOAT32_TENSORS = ("anchors",)


def expected_shapes(model):
    """Ordered mapping tensor name -> shape for the model's architecture."""
    if model.architecture == "ssd":
        return head_spec.ssd_shapes(model.backbone, model.depth_multiplier, model.last_channels,
                                    model.num_classes, model.head, model.input_height,
                                    model.input_width)
    if model.architecture == "deeplabv3":
        if model.backbone != "mobilenet_v2":
            raise arch_spec.ArchitectureError("DeepLab needs a mobilenet_v2 backbone, not %s"
                                              % model.backbone)
        return head_spec.deeplab_shapes(model.depth_multiplier, model.last_channels,
                                        model.num_classes, model.head, model.divisible_by or 8)
    return arch_spec.expected_shapes(model.architecture, model.depth_multiplier,
                                     model.num_classes, model.last_channels)


def ordered_tensors(model, dtype):
    """Tensors in network order, floats cast to `dtype`, each raw quantized
    tensor right after its float twin. Checks every shape first."""
    if dtype not in ("f16", "f32"):
        raise ValueError("weight dtype must be f16 or f32, not %r" % dtype)
    every = dict(model.tensors)
    every.update(model.raw_tensors)
    expected = expected_shapes(model)
    arch_spec.check_tensor_shapes(every, model.architecture, model.depth_multiplier,
                                  model.num_classes, model.last_channels, expected)
    out = {}
    for name in expected:
        float_type = np.float16 if dtype == "f16" and name not in FLOAT32_TENSORS else np.float32
        array = np.asarray(model.tensors[name], dtype=np.float64)
        if not np.isfinite(array).all():
            raise arch_spec.ArchitectureError("tensor '%s' holds non-finite values" % name)
        if float_type == np.float16 and np.abs(array).max(initial=0) > 65504:
            raise arch_spec.ArchitectureError("tensor '%s' exceeds the float16 range; use "
                                              "--dtype f32" % name)
        out[name] = array.astype(float_type)
        if name + ".q" in model.raw_tensors:
            out[name + ".q"] = model.raw_tensors[name + ".q"]
    return out


def write_model(path, model, dtype="f16", labels=None, provenance=None):
    if labels is not None and len(labels) != model.num_classes:
        raise ValueError("%d labels for %d classes" % (len(labels), model.num_classes))
    tensors = ordered_tensors(model, dtype)
    metadata = model_metadata.build_metadata(model, labels, provenance or {})
    return safetensors_writer.write_safetensors(path, tensors, metadata)
