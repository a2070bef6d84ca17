"""PyTorch reference MobileNet V1 and V2 for any depth multiplier and input
size, with TensorFlow SAME padding (asymmetric, computed from the input size
and applied with F.pad) or PyTorch symmetric padding. The V2 module's
state-dict keys are those of torchvision's MobileNetV2; the V1 keys are the
layout tools/convert/torch_convert.py reads (conv0.conv, blocks.{i}.dw.bn, ...).
Channel rules follow docs/MODEL_FORMAT.md; they are written out here again,
independently of the converter."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(value, divisor=8):
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class Conv2dPadded(nn.Conv2d):
    """nn.Conv2d whose padding is TF SAME (of the dilated kernel, smaller half
    before) or symmetric."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1, bias=False, padding="symmetric",
                 dilation=1):
        super().__init__(cin, cout, kernel, stride,
                         padding=dilation * (kernel - 1) // 2 if padding == "symmetric" else 0,
                         dilation=dilation, groups=groups, bias=bias)
        if padding not in ("symmetric", "tf_same"):
            raise ValueError(padding)
        self.tf_same = padding == "tf_same"

    def forward(self, x):
        if self.tf_same:
            pads = []
            for size, axis in ((x.shape[3], 1), (x.shape[2], 0)):
                k, s, d = self.kernel_size[axis], self.stride[axis], self.dilation[axis]
                out = math.ceil(size / s)
                total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)  # (left, right, top, bottom)
        return super().forward(x)


def conv_bn_relu(cin, cout, kernel, stride, groups, padding, eps):
    """Sequential(conv, bn, relu6): keys .0.weight, .1.* as in torchvision."""
    return nn.Sequential(Conv2dPadded(cin, cout, kernel, stride, groups, padding=padding),
                         nn.BatchNorm2d(cout, eps=eps), nn.ReLU6(inplace=False))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t, padding, eps):
        super().__init__()
        hidden = int(round(cin * t))
        self.use_residual = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers.append(conv_bn_relu(cin, hidden, 1, 1, 1, padding, eps))
        layers += [conv_bn_relu(hidden, hidden, 3, stride, hidden, padding, eps),
                   Conv2dPadded(hidden, cout, 1, 1, padding=padding),
                   nn.BatchNorm2d(cout, eps=eps)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_residual else y


def block_with_taps(block, x, taps, index):
    """Runs an inverted residual block (.conv: [expansion,] depthwise, project
    conv, project BN; .use_residual) on x, recording its "block{index}/expand",
    "/depthwise" and "/output" tensors in taps; returns the output."""
    layers = list(block.conv)
    y = x
    if len(layers) == 4:
        y = layers.pop(0)(y)
        taps["block%d/expand" % index] = y
    y = layers[0](y)
    taps["block%d/depthwise" % index] = y
    y = layers[2](layers[1](y))
    y = x + y if block.use_residual else y
    taps["block%d/output" % index] = y
    return y


V2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, width_mult=1.0, num_classes=1000, padding="symmetric", eps=1e-5,
                 last_channel=None):
        super().__init__()
        width = make_divisible(32 * width_mult)
        if last_channel is None:
            last_channel = make_divisible(1280 * max(1.0, width_mult))
        features = [conv_bn_relu(3, width, 3, 2, 1, padding, eps)]
        for t, c, n, s in V2_SETTINGS:
            out = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(width, out, s if i == 0 else 1, t, padding, eps))
                width = out
        features.append(conv_bn_relu(width, last_channel, 1, 1, 1, padding, eps))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return self.classifier(x)


class ConvBN(nn.Module):
    def __init__(self, cin, cout, kernel, stride, groups, padding, eps):
        super().__init__()
        self.conv = Conv2dPadded(cin, cout, kernel, stride, groups, padding=padding)
        self.bn = nn.BatchNorm2d(cout, eps=eps)

    def forward(self, x):
        return F.relu6(self.bn(self.conv(x)))


V1_WIDTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
V1_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]


class V1Block(nn.Module):
    def __init__(self, cin, cout, stride, padding, eps):
        super().__init__()
        self.dw = ConvBN(cin, cin, 3, stride, cin, padding, eps)
        self.pw = ConvBN(cin, cout, 1, 1, 1, padding, eps)

    def forward(self, x):
        return self.pw(self.dw(x))


class MobileNetV1(nn.Module):
    def __init__(self, depth_multiplier=1.0, num_classes=1001, padding="tf_same", eps=1e-3):
        super().__init__()
        widths = [max(8, int(c * depth_multiplier)) for c in V1_WIDTHS]
        self.conv0 = ConvBN(3, widths[0], 3, 2, 1, padding, eps)
        self.blocks = nn.Sequential(*[V1Block(widths[i], widths[i + 1], V1_STRIDES[i], padding, eps)
                                      for i in range(13)])
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.blocks(self.conv0(x)).mean((2, 3))
        return self.classifier(x)


def randomize(model, generator, gain=1.0):
    """Random weights and random BatchNorm statistics (never the identity), so
    that a wrong fold, layout or padding shows in the logits. Weights are
    scaled by gain / sqrt(fan_in): with gain 1 activations stay O(1) through
    the depth and float32 rounding is not amplified (at gain 1.3 the V2
    residual stream grows to ~20 and fp32 vs fp64 logits differ by ~2e-6,
    at 1.7 by ~1e-4)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator)
                                    * (gain / math.sqrt(fan_in)))
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
            elif isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(torch.randn(c, generator=generator) * 0.2)
                module.running_mean.copy_(torch.randn(c, generator=generator) * 0.2)
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
            elif isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator)
                                    / math.sqrt(module.in_features))
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    return model.eval()
