"""The source-independent result of a conversion, and writing it as an mnet
file: every converter fills a ConvertedModel (float weights in mnet's layout,
BatchNorm folded) and calls write_model."""

import dataclasses

import numpy as np

import arch_spec
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


def ordered_tensors(model, dtype):
    """Tensors in network order, floats cast to `dtype`, each raw quantized
    tensor right after its float twin. Checks every shape first."""
    if dtype not in ("f16", "f32"):
        raise ValueError("weight dtype must be f16 or f32, not %r" % dtype)
    every = dict(model.tensors)
    every.update(model.raw_tensors)
    arch_spec.check_tensor_shapes(every, model.architecture, model.depth_multiplier,
                                  model.num_classes, model.last_channels)
    float_type = np.float16 if dtype == "f16" else np.float32
    out = {}
    for name in arch_spec.expected_shapes(model.architecture, model.depth_multiplier,
                                          model.num_classes, model.last_channels):
        array = np.asarray(model.tensors[name], dtype=np.float64)
        if not np.isfinite(array).all():
            raise arch_spec.ArchitectureError("tensor '%s' holds non-finite values" % name)
        if dtype == "f16" and np.abs(array).max(initial=0) > 65504:
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
