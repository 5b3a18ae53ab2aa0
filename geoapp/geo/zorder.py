"""Z-order (Morton) sorting of points, so rows written together lie together on disk.

The incident table's point index is a BRIN: it stores one bounding box per range of
pages, which is only selective when neighbouring rows are neighbours on the map.  Writing
each batch in Z-order makes them so, at the price of one sort.
"""

from __future__ import annotations

import numpy as np

BITS = 16  # per axis: a 65,536 x 65,536 grid over the batch's extent


def _spread(v: np.ndarray) -> np.ndarray:
    """Put a zero bit between each of the 16 low bits of every value."""
    v = v.astype(np.uint64)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    v = (v | (v << np.uint64(1))) & np.uint64(0x55555555)
    return v


def zorder(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The permutation that sorts points by their Z-order key over their own extent."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    scale = float(2**BITS - 1)

    def grid(v: np.ndarray) -> np.ndarray:
        low, span = float(v.min()), float(v.max() - v.min()) or 1.0
        return np.floor((v - low) / span * scale)

    key = _spread(grid(x)) | (_spread(grid(y)) << np.uint64(1))
    return np.argsort(key, kind="stable")
