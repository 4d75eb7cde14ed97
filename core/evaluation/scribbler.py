"""The deterministic scribble generator: the simulated user of the scribble protocol.

Following the DAVIS interactive robot that the FocalClick-XL paper adopts, the next
scribble is drawn on the **largest error region** (the biggest 8-connected component of
the false negatives or the false positives, ignored pixels excluded; a tie goes to the
false positives, as with clicks):

1. smooth the region by a morphological opening with a disk of radius
   ``0.075 * sqrt(area)`` (at most 16 px), shrunk by 10 % while it would erase the region;
2. take its **medial axis** (``skimage.morphology.medial_axis``, region padded by one pixel,
   ties broken by a fixed seed);
3. join medial-axis pixels closer than ``sqrt(2)`` into a **radius-neighbour graph**
   weighted by distance;
4. split it into **connected components** and remove their **cycles** (a minimum spanning
   tree drops the heaviest edge of every cycle); trees under 4 nodes are dropped;
5. take the **longest path** of each tree (two farthest-node sweeps) and keep the longest;
6. smooth it into a **Bézier curve** with the path's pixel centres as control points.

The stroke is positive on false negatives and negative on false positives. A region
too small to leave a 4-node skeleton gets a dot at its interior-most pixel instead.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..interactions import Scribble
from .clicker import error_distance

KERNEL_FRACTION = 0.15        # opening diameter as a fraction of sqrt(area) (DAVIS robot)
MAX_KERNEL_RADIUS = 16.0
MIN_NODES = 4
NEIGHBOUR_RADIUS = float(np.sqrt(2.0))


def largest_error_region(gt: np.ndarray, pred: np.ndarray,
                         ignore: Optional[np.ndarray] = None) -> Tuple[Optional[np.ndarray], bool]:
    """``(region, positive)``: the biggest connected false-negative or false-positive region."""
    valid = np.ones(gt.shape, dtype=bool) if ignore is None else ~ignore
    best: Tuple[int, Optional[np.ndarray], bool] = (0, None, False)
    for positive, error in ((False, ~gt & pred & valid), (True, gt & ~pred & valid)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(error.astype(np.uint8), connectivity=8)
        if count < 2:
            continue
        label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[label, cv2.CC_STAT_AREA])
        if area > best[0]:
            best = (area, labels == label, positive)
    return best[1], best[2]


def smoothed(region: np.ndarray) -> np.ndarray:
    """The region opened by a disk proportional to its size (kept whole when that erases it)."""
    radius = min(KERNEL_FRACTION * np.sqrt(np.count_nonzero(region)) * 0.5, MAX_KERNEL_RADIUS)
    source = region.astype(np.uint8)
    while radius > 1.0:
        size = 2 * int(round(radius)) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        opened = cv2.morphologyEx(source, cv2.MORPH_OPEN, kernel)
        if opened.any():
            return opened.astype(bool)
        radius *= 0.9
    return region


def medial_axis(region: np.ndarray) -> np.ndarray:
    """The medial axis of a region; the image border counts as the region's border.

    scikit-image breaks ties between equally distant pixels in a random order: a fixed
    seed makes the axis, and so the scribble, a function of the region alone.
    """
    from skimage.morphology import medial_axis as skimage_medial_axis

    return skimage_medial_axis(np.pad(region, 1), rng=0)[1:-1, 1:-1]


def longest_skeleton_path(skeleton: np.ndarray) -> Optional[np.ndarray]:
    """``(row, col)`` pixels of the longest path over the skeleton's acyclic components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
    from scipy.spatial import cKDTree

    points = np.argwhere(skeleton)
    if len(points) < MIN_NODES:
        return None
    pairs = cKDTree(points).query_pairs(NEIGHBOUR_RADIUS + 1e-6, output_type="ndarray")
    if len(pairs) == 0:
        return None
    weights = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    graph = coo_matrix((weights, (pairs[:, 0], pairs[:, 1])), shape=(len(points),) * 2).tocsr()
    forest = minimum_spanning_tree(graph)
    forest = forest + forest.T
    count, labels = connected_components(forest, directed=False)
    best: Tuple[float, Optional[List[int]]] = (-1.0, None)
    for component in range(count):
        nodes = np.flatnonzero(labels == component)
        if len(nodes) < MIN_NODES:
            continue
        length, path = _longest_path_in_tree(forest, int(nodes[0]))
        if length > best[0]:
            best = (length, path)
    return None if best[1] is None else points[best[1]]


def _longest_path_in_tree(tree, start: int) -> Tuple[float, List[int]]:
    """Double sweep: the node farthest from ``start``, then the farthest from it, and the path."""
    from scipy.sparse.csgraph import dijkstra

    distance = dijkstra(tree, directed=False, indices=start)
    end_a = int(np.argmax(np.where(np.isfinite(distance), distance, -1.0)))
    distance, predecessors = dijkstra(tree, directed=False, indices=end_a, return_predecessors=True)
    end_b = int(np.argmax(np.where(np.isfinite(distance), distance, -1.0)))
    path = [end_b]
    while path[-1] != end_a:
        path.append(int(predecessors[path[-1]]))
    return float(distance[end_b]), path[::-1]


def bezier_curve(control: np.ndarray, samples: Optional[int] = None) -> np.ndarray:
    """Points of the Bézier curve with ``control`` points ``float[N, 2]``.

    The Bernstein weights are binomial probabilities, evaluated by scipy in a way that
    stays finite for hundreds of control points.
    """
    from scipy.stats import binom

    count = len(control)
    if count == 1:
        return control.astype(float)
    t = np.linspace(0.0, 1.0, samples or count)
    weights = binom.pmf(np.arange(count)[None, :], count - 1, t[:, None])
    return weights @ control.astype(float)


def scribble_stroke(region: np.ndarray) -> np.ndarray:
    """The stroke for one error region, ``float[N, 2]`` image ``(x, y)`` points."""
    path = longest_skeleton_path(medial_axis(smoothed(region)))
    if path is None:
        row, col = np.unravel_index(int(np.argmax(error_distance(region))), region.shape)
        return np.array([[col + 0.5, row + 0.5]])
    return bezier_curve(path[:, ::-1] + 0.5)


def next_scribble(gt: np.ndarray, pred: np.ndarray, ignore: Optional[np.ndarray] = None,
                  width: float = 5.0) -> Optional[Scribble]:
    """The scribble correcting ``pred`` most; ``None`` when nothing is left to fix."""
    region, positive = largest_error_region(gt.astype(bool), pred.astype(bool), ignore)
    if region is None:
        return None
    height, width_px = gt.shape
    stroke = scribble_stroke(region)
    stroke[:, 0] = np.clip(stroke[:, 0], 0.0, np.nextafter(width_px, 0))
    stroke[:, 1] = np.clip(stroke[:, 1], 0.0, np.nextafter(height, 0))
    return Scribble([tuple(p) for p in stroke], positive=positive, width=width)


class Scribbler:
    """The simulated user of the scribble protocol: one scribble per round."""

    def __init__(self, gt: np.ndarray, ignore: Optional[np.ndarray] = None, width: float = 5.0):
        self.gt = gt.astype(bool)
        self.ignore = None if ignore is None else ignore.astype(bool)
        self.width = width
        self.scribbles: List[Scribble] = []

    def next(self, pred: np.ndarray) -> Optional[Scribble]:
        scribble = next_scribble(self.gt, pred, self.ignore, self.width)
        if scribble is not None:
            self.scribbles.append(scribble)
        return scribble
