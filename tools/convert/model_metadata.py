"""The __metadata__ of an mnet file (docs/MODEL_FORMAT.md): config, labels,
provenance and quantization, each a JSON string."""

import datetime
import hashlib
import json
import os

CONVERTER_NAME = "mnet_convert"
CONVERTER_VERSION = "0.1.0"


def build_config(model):
    """model: converted_model.ConvertedModel."""
    config = {"architecture": model.architecture, "name": model.name}
    if model.backbone:
        config["backbone"] = model.backbone
    config["depth_multiplier"] = model.depth_multiplier
    if (model.backbone or model.architecture) == "mobilenet_v2":
        config["last_channels"] = model.last_channels
        if model.divisible_by not in (None, 8):
            config["divisible_by"] = model.divisible_by
    if model.output_stride is not None:
        config["output_stride"] = model.output_stride
    preprocess = {"fit": model.fit}
    if model.fit == "center_crop":
        preprocess["crop_fraction"] = model.crop_fraction
    if model.fit == "letterbox" and model.fill is not None:
        preprocess["fill"] = [float(v) for v in model.fill]
    config.update({
        "padding": model.padding,
        "input": {"height": model.input_height, "width": model.input_width, "channels": 3,
                  "color": model.color, "mean": [float(v) for v in model.mean],
                  "std": [float(v) for v in model.std]},
        "preprocess": preprocess,
        "num_classes": model.num_classes,
    })
    if model.architecture == "ssd":
        config["ssd"] = model.head
    elif model.architecture == "deeplabv3":
        config["deeplab"] = model.head
    return config


def load_labels(path, num_classes):
    """Label i of the model at position i. A file with one line more than
    the model has classes whose first line is 'background' or '???' (the
    1001-line ImageNet file for a 1000-class Keras model, TF OD API label
    maps) is shifted by one. The list ends at the first blank line."""
    with open(path, encoding="utf-8") as f:
        labels = [line.rstrip("\r\n") for line in f]
    # A blank line ends the list (PASCAL's label file has notes after one).
    if "" in labels:
        labels = labels[:labels.index("")]
    if len(labels) == num_classes + 1 and labels[0].strip().lower() in ("background", "???"):
        labels = labels[1:]
    if len(labels) != num_classes:
        raise ValueError("%s has %d labels, the model has %d classes"
                         % (path, len(labels), num_classes))
    return labels


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def conversion_date():
    """UTC date of the conversion; SOURCE_DATE_EPOCH makes rebuilds byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime("%Y-%m-%d")


def build_provenance(source_paths, license_name, origin=None, notes=None):
    sources = [{"file": os.path.basename(os.path.normpath(p)), "sha256": sha256_file(p),
                "bytes": os.path.getsize(p)} for p in source_paths]
    provenance = {"sources": sources, "license": license_name,
                  "converter": CONVERTER_NAME, "converter_version": CONVERTER_VERSION,
                  "date": conversion_date()}
    if origin:
        provenance["origin"] = origin
    if notes:
        provenance["notes"] = notes
    return provenance


def build_metadata(model, labels, provenance):
    metadata = {
        "format": "mnet",
        "mnet.format_version": "1",
        "mnet.config": json.dumps(build_config(model)),
    }
    if labels is not None:
        metadata["mnet.labels"] = json.dumps(labels, ensure_ascii=False)
    metadata["mnet.provenance"] = json.dumps(provenance)
    if model.quantization is not None:
        metadata["mnet.quantization"] = json.dumps(model.quantization)
    return metadata
