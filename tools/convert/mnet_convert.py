#!/usr/bin/python3
"""Converts pretrained MobileNet V1/V2 classifiers, SSD detectors and DeepLab
segmenters into an mnet .safetensors file.

  mnet_convert.py tflite MODEL.tflite [--head HEAD.tflite] -o OUT.safetensors
                  (classifier, SSD or DeepLab: recognized from the graph;
                  SSD without anchors: --anchors JSON, --ssd-score)
  mnet_convert.py tfjs   MODEL_DIR_OR_model.json           -o OUT.safetensors
  mnet_convert.py keras  MODEL.h5 [--input-size 224]       -o OUT.safetensors
  mnet_convert.py torch  STATE.pth --input-size 224 [--padding symmetric|tf_same]
                         [--bn-eps 1e-5]                   -o OUT.safetensors
                  (SSD / DeepLab state dicts of tests/models/torch_ssd.py and
                  torch_deeplab.py: --ssd-taps, --anchors, --output-stride,
                  --atrous-rates, --low-level-tap, --decoder-concat,
                  --activation, --align-corners)

  mnet_convert.py quantize --calibration DIR [--images N] [--method minmax|percentile|mse]
                  IN.safetensors OUT.safetensors
                  (post-training quantization of a float MobileNet V1/V2
                  classifier, SSD or DeepLabv3 to int8 per-channel, calibrated
                  with mnet's float path on the images in DIR; --library)

Common options of the converters: --dtype f16|f32 (stored weights, default f16), --labels FILE,
--name, --license, --origin, --mean R G B, --std R G B, --crop-fraction,
--fit center_crop|stretch|letterbox, --fill R G B."""

import argparse
import json
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
    fill = _three(args.fill, "--fill")
    anchors = json.loads(args.anchors) if args.anchors else None
    if args.command == "tflite":
        import tflite_convert
        import tflite_deeplab
        import tflite_ssd
        graph = tflite_reader.read_tflite(args.input)
        if tflite_ssd.is_ssd(graph) and not args.head:
            model = tflite_ssd.convert_ssd(tflite_ssd.recognize_ssd(graph), args.name, mean, std,
                                           anchors, args.ssd_score)
        elif tflite_deeplab.is_deeplab(graph) and not args.head:
            model = tflite_deeplab.convert_deeplab(tflite_deeplab.recognize_deeplab(graph),
                                                   args.name, mean, std, fill)
        else:
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
        head_options = {"ssd_taps": args.ssd_taps, "anchors": anchors,
                        "output_stride": args.output_stride, "atrous_rates": args.atrous_rates,
                        "low_level_tap": args.low_level_tap,
                        "decoder_concat": args.decoder_concat, "activation": args.activation,
                        "align_corners": args.align_corners == "true", "score": args.ssd_score}
        model = torch_convert.convert_torch(
            args.input, input_size=_size(args.input_size) or (224, 224), padding=args.padding,
            eps=args.bn_eps, mean=mean, std=std, name=args.name, head_options=head_options)
        sources = [args.input]
    if args.fit:
        model.fit = args.fit
    if fill is not None:
        model.fill = fill
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
    print("%s: %s%s dm %r %dx%d, %d classes, %s weights, %d bytes"
          % (args.output, model.architecture,
             " (%s)" % model.backbone if model.backbone else "",
             float(model.depth_multiplier), model.input_height,
             model.input_width, model.num_classes, args.dtype, size))


def _quantize(args):
    import post_training_quant
    import mnet_library
    try:
        post_training_quant.quantize_model(args.input, args.output, args.calibration,
                                           args.images, args.library, method=args.method,
                                           percentile=args.percentile)
    except mnet_library.LibraryError as exc:
        raise ValueError(str(exc))


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
        p.add_argument("--fit", choices=("center_crop", "stretch", "letterbox"))
        p.add_argument("--fill", type=float, nargs="+", help="letterbox fill, 0..255")
        p.add_argument("--anchors", help="SSD anchor generator as JSON (docs/MODEL_FORMAT.md), "
                       "for models without an anchor tensor")
        p.add_argument("--ssd-score", choices=("sigmoid", "softmax"),
                       help="SSD score function when the graph does not say")
        if name == "tflite":
            p.add_argument("--head", help="classifier head of a split model (its input is the "
                           "pooled output of INPUT)")
        else:
            p.add_argument("--input-size", type=int, nargs="+")
        if name == "torch":
            p.add_argument("--padding", choices=("symmetric", "tf_same"), default="symmetric")
            p.add_argument("--bn-eps", type=float, default=1e-5)
            p.add_argument("--ssd-taps", nargs="+", help="SSD feature taps (default: V1 "
                           "block10/output block12/output, V2 block13/expand conv_last)")
            p.add_argument("--output-stride", type=int, default=16, choices=(8, 16, 32))
            p.add_argument("--atrous-rates", type=int, nargs="*",
                           help="one dilation rate per atrous ASPP branch")
            p.add_argument("--low-level-tap", default="block3/expand")
            p.add_argument("--decoder-concat", choices=("aspp_first", "low_level_first"),
                           default="aspp_first")
            p.add_argument("--activation", choices=("relu", "relu6"), default="relu")
            p.add_argument("--align-corners", choices=("true", "false"), default="true")
    q = sub.add_parser("quantize", help="post-training int8 quantization of a float mnet model")
    q.add_argument("input", help="float mnet model (.safetensors, fp32 or fp16 weights)")
    q.add_argument("output", help="the int8 per-channel model to write")
    q.add_argument("--calibration", required=True, help="folder of .jpg/.png images")
    q.add_argument("--images", type=int, default=0,
                   help="use the first N images of the folder, sorted by name (0 = all)")
    q.add_argument("--method", choices=("minmax", "percentile", "mse"), default="minmax",
                   help="how each activation's range is chosen from the calibration values: "
                   "their extremes (TFLite's converter), tails clipped at --percentile, or the "
                   "clipping with the least expected squared error (default: minmax)")
    q.add_argument("--percentile", type=float, default=99.99,
                   help="for --method percentile: the percentile of each tail kept "
                   "(default 99.99)")
    q.add_argument("--library", help="libmnet.so to calibrate with (default: $MNET_LIBRARY, "
                   "$MNET_BUILD_DIR/libmnet.so or build/libmnet.so)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "quantize":
            _quantize(args)
        else:
            _convert(args)
    except (arch_spec.ArchitectureError, tflite_reader.TFLiteFormatError, ValueError,
            OSError) as exc:
        print("mnet_convert.py: error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
