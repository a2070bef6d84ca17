"""Box overlap, the one definition the tests and tools share."""


def iou(a, b):
    """Intersection over union of two boxes given as (min corner, max
    corner): (x0, y0, x1, y1) or (y0, x0, y1, x1), both in the same order.
    0 when the union is empty."""
    extent0 = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    extent1 = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = extent0 * extent1
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
