#!/usr/bin/python3
"""Converts pretrained MobileNet V1/V2 weights into an mnet .safetensors file.

  mnet_convert.py tflite MODEL.tflite [--head HEAD.tflite] -o OUT.safetensors
  mnet_convert.py tfjs   MODEL_DIR_OR_model.json           -o OUT.safetensors
  mnet_convert.py keras  MODEL.h5 [--input-size 224]       -o OUT.safetensors
  mnet_convert.py torch  STATE.pth --input-size 224 [--padding symmetric|tf_same]
                         [--bn-eps 1e-5]                   -o OUT.safetensors

Common options: --dtype f16|f32 (stored weights, default f16), --labels FILE,
--name, --license, --origin, --mean R G B, --std R G B, --crop-fraction."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import arch_spec  # noqa: E402
import converted_model  # noqa: E402
import model_metadata  # noqa: E402
import tflite_reader  # noqa: E402


def _three(values, what):
    if values is None:
        return None
    if len(values) == 1:
        return values * 3
    if len(values) != 3:
        raise ValueError("%s takes 1 or 3 values, got %d" % (what, len(values)))
    return values


def _size(values):
    if values is None:
        return None
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) != 2:
        raise ValueError("--input-size takes H or H W")
    return tuple(values)


def _convert(args):
    mean, std = _three(args.mean, "--mean"), _three(args.std, "--std")
    if args.command == "tflite":
        import tflite_convert
        model = tflite_convert.convert_tflite(args.input, args.head, args.name, mean, std)
        sources = [args.input] + ([args.head] if args.head else [])
    elif args.command in ("tfjs", "keras"):
        import keras_convert
        fn = keras_convert.convert_tfjs if args.command == "tfjs" else keras_convert.convert_h5
        model, sources = fn(args.input, _size(args.input_size), args.name)
        if mean:
            model.mean = mean
        if std:
            model.std = std
    else:
        import torch_convert
        model = torch_convert.convert_torch(
            args.input, input_size=_size(args.input_size) or (224, 224), padding=args.padding,
            eps=args.bn_eps, mean=mean, std=std, name=args.name)
        sources = [args.input]
    if args.crop_fraction is not None:
        if not 0 < args.crop_fraction <= 1:
            raise ValueError("--crop-fraction must be in (0, 1]")
        model.crop_fraction = args.crop_fraction
    labels = None
    if args.labels:
        labels = model_metadata.load_labels(args.labels, model.num_classes)
        sources.append(args.labels)
    provenance = model_metadata.build_provenance(sources, args.license, args.origin)
    size = converted_model.write_model(args.output, model, args.dtype, labels, provenance)
    print("%s: %s dm %r %dx%d, %d classes, %s weights, %d bytes"
          % (args.output, model.architecture, float(model.depth_multiplier), model.input_height,
             model.input_width, model.num_classes, args.dtype, size))


def build_parser():
    parser = argparse.ArgumentParser(prog="mnet_convert.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("tflite", "TFLite float / uint8 / int8 per-channel model"),
                            ("tfjs", "TF.js layers model of a Keras MobileNet V1"),
                            ("keras", "Keras .h5 MobileNet V1"),
                            ("torch", "PyTorch state dict (torchvision MobileNetV2, mnet V1)")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("input")
        p.add_argument("-o", "--output", required=True)
        p.add_argument("--dtype", choices=("f16", "f32"), default="f16")
        p.add_argument("--labels", help="one label per line (a leading 'background' line is "
                       "dropped for models without that class)")
        p.add_argument("--name")
        p.add_argument("--license", default="unspecified")
        p.add_argument("--origin", help="where the source files come from (provenance)")
        p.add_argument("--mean", type=float, nargs="+")
        p.add_argument("--std", type=float, nargs="+")
        p.add_argument("--crop-fraction", type=float)
        if name == "tflite":
            p.add_argument("--head", help="classifier head of a split model (its input is the "
                           "pooled output of INPUT)")
        else:
            p.add_argument("--input-size", type=int, nargs="+")
        if name == "torch":
            p.add_argument("--padding", choices=("symmetric", "tf_same"), default="symmetric")
            p.add_argument("--bn-eps", type=float, default=1e-5)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        _convert(args)
    except (arch_spec.ArchitectureError, tflite_reader.TFLiteFormatError, ValueError,
            OSError) as exc:
        print("mnet_convert.py: error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
