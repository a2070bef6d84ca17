"""mnet_decode_box in torchvision's convention (encodings (dx, dy, dw, dh),
clamp at log(1000/16)) against torchvision's BoxCoder.decode_single on
random anchors and encodings, some large enough to hit the clamp.
Exit 77 = skipped (no library or no torchvision)."""

import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import post_ctypes  # noqa: E402


def main():
    try:
        post = post_ctypes.PostLib()
        import torch
        from torchvision.models.detection._utils import BoxCoder
    except (OSError, ImportError) as e:
        print("skip: %s" % e)
        return 77
    rng = np.random.default_rng(5)
    n = 500
    weights = (10.0, 10.0, 5.0, 5.0)
    # Anchors as torchvision holds them: corners (x1, y1, x2, y2).
    x1 = rng.uniform(0, 0.8, n)
    y1 = rng.uniform(0, 0.8, n)
    corners = np.stack([x1, y1, x1 + rng.uniform(0.02, 0.5, n), y1 + rng.uniform(0.02, 0.5, n)],
                       1).astype(np.float32)
    codes = rng.normal(0, 2, (n, 4)).astype(np.float32)
    codes[: n // 5, 2:] = rng.uniform(20, 60, (n // 5, 2))   # exp would exceed 1000/16
    with torch.no_grad():
        want = BoxCoder(weights).decode_single(torch.from_numpy(codes),
                                               torch.from_numpy(corners)).numpy()
    # torchvision derives centre and size from the corners in float32.
    c = corners.astype(np.float32)
    w, h = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    anchors = np.stack([c[:, 1] + 0.5 * h, c[:, 0] + 0.5 * w, h, w], 1)
    coder = post_ctypes.BoxCoder(weights[1], weights[0], weights[3], weights[2], 1,
                                 math.log(1000.0 / 16))
    got = post_ctypes.decode_boxes(post, codes, anchors, coder)   # ymin xmin ymax xmax
    got_xyxy = got[:, [1, 0, 3, 2]]
    rel = np.abs(got_xyxy - want) / np.maximum(np.abs(want), 1.0)
    ok = rel.max() <= 1e-5
    print("%s mnet vs torchvision BoxCoder: max relative error %.2e over %d boxes (%d clamped)"
          % ("ok  " if ok else "FAIL", rel.max(), n, n // 5))
    unclamped = post_ctypes.BoxCoder(weights[1], weights[0], weights[3], weights[2], 1, 0.0)
    big = post_ctypes.decode_boxes(post, codes[:5], anchors[:5], unclamped)
    grows = bool(np.all((big[:, 2] - big[:, 0]) > (got[:5, 2] - got[:5, 0])))
    print("%s without the clamp the large encodings give larger boxes" % ("ok  " if grows else "FAIL"))
    return 0 if ok and grows else 1


if __name__ == "__main__":
    sys.exit(main())
