"""PyTorch SSD / SSDLite and DeepLabv3(+) state dicts -> ConvertedModel, in
the layout of tests/models/torch_ssd.py and tests/models/torch_deeplab.py:

  backbone.*                         MobileNet V1 (mnet reference keys) or V2
                                     (torchvision keys), no classifier
  extras.{i}.reduce|conv|dw|pw       .conv.weight + .bn.* (SSD)
  heads.{l}.box|class                .weight, .bias; heads.{l}.box_dw|class_dw
                                     .conv + .bn (SSDLite predictors)
  aspp.pool|conv0|project            .conv + .bn; aspp.atrous{i} (.dw/.pw when
                                     separable) (DeepLab)
  decoder.reduce|conv0|conv1         (DeepLabv3+)
  logits                             .weight, .bias

What the weights cannot say (feature taps, anchors, output stride, atrous
rates, decoder tap and concat order, activation) comes from `options`."""

import arch_spec
import converted_model
import torch_convert

TorchModelError = torch_convert.TorchModelError
DEFAULT_TAPS = {"mobilenet_v1": ["block10/output", "block12/output"],
                "mobilenet_v2": ["block13/expand", "conv_last"]}
DEFAULT_ANCHORS = {"type": "tf_ssd", "min_scale": 0.2, "max_scale": 0.95,
                   "aspect_ratios": [1.0, 2.0, 0.5, 3.0, 0.3333],
                   "interpolated_scale_aspect_ratio": 1.0, "reduce_boxes_in_lowest_layer": True}
DEFAULT_NMS = {"variant": "fast", "iou_threshold": 0.6, "score_threshold": 1e-8,
               "max_detections": 100, "max_classes_per_detection": 1,
               "detections_per_class": 100}


def _backbone(state, eps):
    """(architecture, dm, last_channels, divisor, tensors) of backbone.*."""
    sub = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    if "features.0.0.weight" in sub:
        _, _, last, _, tensors = torch_convert.convert_torchvision_v2(sub, eps, divisors=(8, 1))
        outputs = [tensors["blocks.%d.project.weight" % i].shape[0] for i in range(17)]
        dm, divisor = arch_spec.derive_v2_multiplier_and_divisor(tensors["conv0.weight"].shape[0],
                                                                 outputs)
        return "mobilenet_v2", dm, last, divisor, tensors
    if "conv0.conv.weight" in sub:
        _, dm, _, _, tensors = torch_convert.convert_reference_v1(sub, eps)
        return "mobilenet_v1", dm, None, 8, tensors
    raise TorchModelError("no MobileNet backbone under 'backbone.' (expected "
                          "backbone.features.0.0.weight or backbone.conv0.conv.weight)")


class _HeadReader(torch_convert._Reader):
    def conv_bn_into(self, tensors, prefix):
        tensors[prefix + ".weight"], tensors[prefix + ".bias"] = \
            self.conv_bn(prefix + ".conv.weight", prefix + ".bn")

    def conv_bias_into(self, tensors, prefix):
        tensors[prefix + ".weight"] = self.take(prefix + ".weight", 4).transpose(0, 2, 3, 1)
        tensors[prefix + ".bias"] = self.take(prefix + ".bias", 1)

    def has(self, key):
        return key in self.state


def _rest(state):
    return {k: v for k, v in state.items() if not k.startswith("backbone.")}


def convert_ssd(state, eps, options, **common):
    arch, dm, last, divisor, tensors = _backbone(state, eps)
    if divisor != 8:
        raise TorchModelError("SSD backbones use the standard MobileNet V2 widths")
    r = _HeadReader(_rest(state), eps)
    extras, lite = [], None
    while r.has("extras.%d.reduce.conv.weight" % len(extras)):
        p = "extras.%d." % len(extras)
        r.conv_bn_into(tensors, p + "reduce")
        depthwise = r.has(p + "dw.conv.weight")
        if lite not in (None, depthwise):
            raise TorchModelError("extra layers mix regular and depthwise convolutions")
        lite = depthwise
        for part in (("dw", "pw") if depthwise else ("conv",)):
            r.conv_bn_into(tensors, p + part)
        extras.append([tensors[p + "reduce.weight"].shape[0],
                       tensors[p + ("pw" if depthwise else "conv") + ".weight"].shape[0]])
    per_location, columns, predictor = [], None, None
    l = 0
    while r.has("heads.%d.box.weight" % l):
        p = "heads.%d." % l
        kind = "depthwise3x3" if r.has(p + "box_dw.conv.weight") else None
        for part in ("box", "class"):
            if kind:
                r.conv_bn_into(tensors, p + part + "_dw")
            r.conv_bias_into(tensors, p + part)
        k = tensors[p + "box.weight"].shape[1]
        kind = kind or "conv%dx%d" % (k, k)
        if predictor not in (None, kind):
            raise TorchModelError("predictor %d is %s, the others %s" % (l, kind, predictor))
        predictor = kind
        a, rest = divmod(tensors[p + "box.weight"].shape[0], 4)
        c, rest2 = divmod(tensors[p + "class.weight"].shape[0], max(a, 1))
        if rest or rest2 or a == 0 or columns not in (None, c):
            raise TorchModelError("heads.%d: %d box and %d class outputs are not A*4 and A*%s"
                                  % (l, tensors[p + "box.weight"].shape[0],
                                     tensors[p + "class.weight"].shape[0], columns or "classes"))
        per_location.append(a)
        columns = c
        l += 1
    if not per_location:
        raise TorchModelError("no predictors (heads.0.box.weight)")
    r.check_all_used("SSD head")
    taps = options.get("ssd_taps") or DEFAULT_TAPS[arch]
    head = {"feature_taps": list(taps), "extra_layers": extras, "extra_depthwise": bool(lite),
            "predictor": predictor, "anchors_per_location": per_location,
            "anchors": options.get("anchors") or DEFAULT_ANCHORS, "box_coder": [10.0, 10.0, 5.0, 5.0],
            "box_order": "yxhw", "score": options.get("score") or "sigmoid",
            "background_class": True, "nms": dict(DEFAULT_NMS)}
    return converted_model.ConvertedModel(
        architecture="ssd", depth_multiplier=dm, num_classes=columns - 1, tensors=tensors,
        last_channels=last, fit="stretch", backbone=arch, head=head, **common)


def _maybe_separable(r, tensors, prefix):
    """Reads a 3x3 branch; True when it is depthwise separable."""
    if r.has(prefix + ".dw.conv.weight"):
        r.conv_bn_into(tensors, prefix + ".dw")
        r.conv_bn_into(tensors, prefix + ".pw")
        return True
    r.conv_bn_into(tensors, prefix)
    return False


def convert_deeplab(state, eps, options, **common):
    arch, dm, last, divisor, tensors = _backbone(state, eps)
    if arch != "mobilenet_v2":
        raise TorchModelError("DeepLab needs a MobileNet V2 backbone")
    r = _HeadReader(_rest(state), eps)
    for part in ("pool", "conv0"):
        r.conv_bn_into(tensors, "aspp." + part)
    separable = set()
    rates = 0
    while r.has("aspp.atrous%d.conv.weight" % rates) or r.has("aspp.atrous%d.dw.conv.weight" % rates):
        separable.add(_maybe_separable(r, tensors, "aspp.atrous%d" % rates))
        rates += 1
    r.conv_bn_into(tensors, "aspp.project")
    decoder = None
    if r.has("decoder.reduce.conv.weight"):
        r.conv_bn_into(tensors, "decoder.reduce")
        for i in range(2):
            separable.add(_maybe_separable(r, tensors, "decoder.conv%d" % i))
        decoder = {"low_level_tap": options.get("low_level_tap") or "block3/expand",
                   "low_level_channels": int(tensors["decoder.reduce.weight"].shape[0]),
                   "channels": int(tensors["decoder.conv1" + (".pw" if True in separable else "")
                                           + ".weight"].shape[0]),
                   "concat": options.get("decoder_concat") or "aspp_first"}
    r.conv_bias_into(tensors, "logits")
    r.check_all_used("DeepLab head")
    if len(separable) > 1:
        raise TorchModelError("the 3x3 branches mix regular and separable convolutions")
    atrous_rates = [int(v) for v in options.get("atrous_rates") or []] if rates else []
    if len(atrous_rates) != rates:
        raise TorchModelError("the ASPP has %d atrous branches, but %d rates were given "
                              "(--atrous-rates)" % (rates, len(atrous_rates)))
    head = {"aspp": "full" if rates else "mobile",
            "aspp_channels": int(tensors["aspp.pool.weight"].shape[0]),
            "atrous_rates": atrous_rates, "separable": True in separable,
            "activation": options.get("activation") or "relu",
            "align_corners": bool(options.get("align_corners", True)), "decoder": decoder}
    return converted_model.ConvertedModel(
        architecture="deeplabv3", depth_multiplier=dm,
        num_classes=int(tensors["logits.weight"].shape[0]), tensors=tensors, last_channels=last,
        fit="letterbox", backbone=arch, head=head, output_stride=options.get("output_stride", 16),
        divisible_by=divisor if divisor != 8 else None, **common)
