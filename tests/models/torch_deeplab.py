"""PyTorch reference DeepLabv3 / v3+ on a dilated MobileNet V2, written from
the TF DeepLab / TF-slim description (docs/MODEL_FORMAT.md, "DeepLab
segmenters"), independently of the converter and of mnet:

* backbone: MobileNet V2 (torchvision state-dict keys features.*), output
  stride 8, 16 or 32: once the stride reached it, a stride-2 depthwise runs
  at stride 1 with the current rate and the rate is multiplied by 2 for the
  layers after it; no final 1x1 (last_channels 0) unless asked;
* ASPP: image pooling (global mean, 1x1, broadcast), a 1x1 branch, for the
  full variant one 3x3 branch per atrous rate (optionally depthwise
  separable), concatenated in that order, 1x1 projection; BN + activation
  (ReLU or ReLU6) after every convolution;
* optional v3+ decoder: 1x1 reduction of a low-level tap, ASPP output
  resized bilinearly to its size, concatenation, two 3x3 convolutions;
* logits: 1x1 with bias, no activation; the output is these low-resolution
  logits (NCHW).

Padding is TF SAME (dilation-aware, smaller half before) or symmetric."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_mobilenet


def make_divisible(value, divisor):
    """TF-slim's rounding with min_depth 8 (divisor 8 for the standard
    widths, 1 in DeepLab's MobileNet V2 when dm != 1)."""
    rounded = max(8, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def dilated_conv(cin, cout, kernel, stride=1, dilation=1, groups=1, bias=False,
                 padding="symmetric"):
    """A (dilated) convolution with TF SAME or symmetric padding."""
    return torch_mobilenet.Conv2dPadded(cin, cout, kernel, stride, groups, bias, padding, dilation)


class ConvBNAct(nn.Module):
    """conv + BN + activation; keys .conv, .bn."""

    def __init__(self, cin, cout, kernel, stride=1, dilation=1, groups=1, padding="tf_same",
                 eps=1e-3, activation="relu6"):
        super().__init__()
        self.conv = dilated_conv(cin, cout, kernel, stride, dilation, groups, padding=padding)
        self.bn = nn.BatchNorm2d(cout, eps=eps)
        self.activation = activation

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.activation == "relu6":
            return F.relu6(x)
        if self.activation == "relu":
            return F.relu(x)
        return x


def _seq(cin, cout, kernel, stride, dilation, groups, padding, eps, relu6=True):
    """Sequential(conv, bn[, relu6]) with torchvision's .0 / .1 keys."""
    layers = [dilated_conv(cin, cout, kernel, stride, dilation, groups, padding=padding),
              nn.BatchNorm2d(cout, eps=eps)]
    if relu6:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, dilation, t, padding, eps):
        super().__init__()
        hidden = torch_mobilenet.make_divisible(cin * t) if t != 1 else cin
        self.use_residual = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers.append(_seq(cin, hidden, 1, 1, 1, 1, padding, eps))
        layers += [_seq(hidden, hidden, 3, stride, dilation, hidden, padding, eps),
                   dilated_conv(hidden, cout, 1, padding=padding), nn.BatchNorm2d(cout, eps=eps)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x, taps, index):
        return torch_mobilenet.block_with_taps(self, x, taps, index)


class DilatedMobileNetV2(nn.Module):
    def __init__(self, dm, output_stride, padding="tf_same", eps=1e-3, divisor=8,
                 last_channels=0):
        super().__init__()
        width = make_divisible(32 * dm, divisor)
        features = [_seq(3, width, 3, 2, 1, 1, padding, eps)]
        current, rate = 2, 1
        for t, c, n, s in torch_mobilenet.V2_SETTINGS:
            out = make_divisible(c * dm, divisor)
            for i in range(n):
                stride = s if i == 0 else 1
                if current == output_stride:
                    layer_stride, layer_rate = 1, rate
                    rate *= stride
                else:
                    layer_stride, layer_rate = stride, 1
                    current *= stride
                features.append(Block(width, out, layer_stride, layer_rate, t, padding, eps))
                width = out
        if last_channels:
            features.append(_seq(width, last_channels, 1, 1, 1, 1, padding, eps))
        self.features = nn.Sequential(*features)
        self.out_channels = last_channels or width

    def forward(self, x):
        taps = {}
        x = self.features[0](x)
        taps["conv0"] = x
        for i in range(17):
            x = self.features[i + 1](x, taps, i)
        if len(self.features) > 18:
            x = self.features[18](x)
            taps["conv_last"] = x
        return x, taps


class Separable(nn.Module):
    def __init__(self, cin, cout, dilation, padding, eps, activation):
        super().__init__()
        self.dw = ConvBNAct(cin, cin, 3, 1, dilation, cin, padding, eps, activation)
        self.pw = ConvBNAct(cin, cout, 1, 1, 1, 1, padding, eps, activation)

    def forward(self, x):
        return self.pw(self.dw(x))


class DeepLabV3(nn.Module):
    """aspp "mobile" or "full" (atrous_rates); decoder None or a dict
    {"low_level_tap", "low_level_channels", "channels", "concat"}."""

    def __init__(self, dm, num_classes, output_stride=16, aspp="mobile", aspp_channels=256,
                 atrous_rates=(), separable=False, activation="relu", align_corners=True,
                 decoder=None, padding="tf_same", eps=1e-3, divisor=8, last_channels=0):
        super().__init__()
        self.backbone = DilatedMobileNetV2(dm, output_stride, padding, eps, divisor, last_channels)
        c, p = self.backbone.out_channels, aspp_channels
        self.align_corners = align_corners
        self.decoder_spec = decoder

        def conv(cin, cout, kernel, dilation=1):
            return ConvBNAct(cin, cout, kernel, 1, dilation, 1, padding, eps, activation)

        self.aspp = nn.Module()
        self.aspp.pool = conv(c, p, 1)
        self.aspp.conv0 = conv(c, p, 1)
        self.rates = list(atrous_rates) if aspp == "full" else []
        for i, rate in enumerate(self.rates):
            branch = Separable(c, p, rate, padding, eps, activation) if separable else \
                conv(c, p, 3, rate)
            setattr(self.aspp, "atrous%d" % i, branch)
        self.aspp.project = conv(p * (2 + len(self.rates)), p, 1)
        features = p
        if decoder:
            with torch.no_grad():
                _, taps = self.backbone(torch.zeros(1, 3, 33, 33))
            low = taps[decoder["low_level_tap"]].shape[1]
            reduced, channels = decoder["low_level_channels"], decoder["channels"]
            self.decoder = nn.Module()
            self.decoder.reduce = conv(low, reduced, 1)
            cin = p + reduced
            for i in range(2):
                layer = Separable(cin, channels, 1, padding, eps, activation) if separable else \
                    conv(cin, channels, 3)
                setattr(self.decoder, "conv%d" % i, layer)
                cin = channels
            features = channels
        self.logits = dilated_conv(features, num_classes, 1, bias=True, padding=padding)

    def forward(self, x):
        y, taps = self.backbone(x)
        pooled = self.aspp.pool(y.mean((2, 3), keepdim=True))
        branches = [pooled.expand(-1, -1, y.shape[2], y.shape[3]), self.aspp.conv0(y)]
        branches += [getattr(self.aspp, "atrous%d" % i)(y) for i in range(len(self.rates))]
        y = self.aspp.project(torch.cat(branches, 1))
        if self.decoder_spec:
            low = self.decoder.reduce(taps[self.decoder_spec["low_level_tap"]])
            y = F.interpolate(y, size=low.shape[2:], mode="bilinear",
                              align_corners=self.align_corners)
            parts = [y, low] if self.decoder_spec["concat"] == "aspp_first" else [low, y]
            y = self.decoder.conv1(self.decoder.conv0(torch.cat(parts, 1)))
        return self.logits(y)
