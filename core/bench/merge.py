"""Progressive Merge + Focus Crop on a 12-megapixel mask, through the engine's own code.

The case: the committed mask holds one large object, an ellipse covering about 30% of
a 4000x3000 image (a session started from an existing annotation, so Progressive
Merge is on). The new prediction differs from it by a bump on the object's right edge,
and the click sits in the bump: the positive case adds the bump, the negative case
(the bump already in the mask, the prediction without it) removes it.

Per repeat the bench computes the Target Crop as ``Session.add`` does, then times
``Session._focus_box`` (the click's footprint, the touched components of proposed XOR
old at it, their bounding box, the prediction's bounding box, ``focus_crop_box``)
and ``merge.progressive_merge`` on that target.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .report import Figure

REQUIREMENT_MS = 50.0
OBJECT_FRACTION = 0.30
BUMP_RADIUS = 0.03            # of the shorter image side


def masks(width: int, height: int) -> Tuple[np.ndarray, np.ndarray, Tuple[float, float]]:
    """``(object, object_with_bump, click)``: the ellipse, the ellipse plus a bump, a point in the bump only."""
    # An ellipse with the image's aspect ratio: pi * a * b = fraction * W * H.
    k = math.sqrt(OBJECT_FRACTION * width * height / (math.pi * (width / 2) * (height / 2)))
    a, b = k * width / 2, k * height / 2
    cx, cy = width / 2, height / 2
    obj = np.zeros((height, width), dtype=np.uint8)
    cv2.ellipse(obj, (round(cx), round(cy)), (round(a), round(b)), 0, 0, 360, 1, -1)
    radius = max(2, round(BUMP_RADIUS * min(width, height)))
    bumped = obj.copy()
    cv2.circle(bumped, (round(cx + a), round(cy)), radius, 1, -1)
    click = (min(width - 1.0, cx + a + radius / 2), cy)
    return obj.astype(bool), bumped.astype(bool), click


def _time_case(old: np.ndarray, proposed_full: np.ndarray, click_xy, positive: bool,
               repeats: int) -> Dict[str, object]:
    from .. import crops
    from ..bimap import footprint
    from ..interactions import Click
    from ..merge import progressive_merge
    from ..session import Session

    height, width = old.shape
    # The session's image is never read here; a broadcast view costs no memory.
    image = np.broadcast_to(np.zeros((1, 1, 3), dtype=np.uint8), (height, width, 3))
    session = Session(predictor=None, image=image, mask=old)
    config = session.config
    # The target's minimum side as Session.add computes it (older sessions: the config's).
    min_size = getattr(session, "_target_min_size", lambda: config.target_min_size)
    click = Click(click_xy[0], click_xy[1], positive)
    target_ms, focus_ms, merge_ms = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        target = crops.target_crop_box(crops.mask_bbox(session._mask),
                                       crops.extent_box(click.extent(), session.shape),
                                       session.shape, config.target_expansion, min_size())
        x0, y0, x1, y1 = target
        touch = footprint(click, crops.Crop(target, x1 - x0, y1 - y0))
        target_ms.append((time.perf_counter() - start) * 1000.0)
        proposed = np.ascontiguousarray(proposed_full[y0:y1, x0:x1])   # the session's ``alpha >= 0.5``: a fresh array
        start = time.perf_counter()
        focus = session._focus_box(proposed, click, target)
        focus_ms.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        update = progressive_merge(session._mask[y0:y1, x0:x1], proposed, touch, positive)
        merge_ms.append((time.perf_counter() - start) * 1000.0)
    both = [f + m for f, m in zip(focus_ms, merge_ms)]
    return {"target": target, "focus": focus, "update_pixels": int(update.sum()),
            "target_ms": target_ms, "focus_ms": focus_ms, "merge_ms": merge_ms, "both_ms": both}


def run(width: int = 4000, height: int = 3000, repeats: int = 15) -> List[Figure]:
    """Median milliseconds of focus crop + progressive merge, adding and removing a bump."""
    obj, bumped, click = masks(width, height)
    size = f"{width}x{height}"
    med = statistics.median
    figures: List[Figure] = []
    for name, old, proposed, positive in (("add", obj, bumped, True), ("remove", bumped, obj, False)):
        case = _time_case(old, proposed, click, positive, repeats)
        x0, y0, x1, y1 = case["target"]
        details = {"size": size, "object_fraction": float(old.mean()), "target_box": case["target"],
                   "target_pixels": (x1 - x0) * (y1 - y0), "focus_box": case["focus"],
                   "update_pixels": case["update_pixels"], "repeats": repeats}
        figures += [
            Figure("merge", f"focus crop + progressive merge, {name} ({size}), median of {repeats}",
                   med(case["both_ms"]), "ms", REQUIREMENT_MS, {**details, "samples_ms": case["both_ms"]}),
            Figure("merge", f"  of which focus crop ({name})", med(case["focus_ms"]), "ms", None,
                   {"samples_ms": case["focus_ms"]}),
            Figure("merge", f"  of which progressive merge ({name})", med(case["merge_ms"]), "ms", None,
                   {"samples_ms": case["merge_ms"]}),
        ]
    figures.append(Figure("merge", f"target crop box before them ({size}), median", med(case["target_ms"]), "ms",
                          None, {"samples_ms": case["target_ms"]}))
    return figures
