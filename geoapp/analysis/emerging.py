"""Emerging hot spots: how each cell's hot or cold spot status has changed over time.

A single hot spot map hides whether a place has always been a hot spot, has just become
one, or is cooling down, and that is what a community prosecutor wants to know before
moving patrols.  This module follows ESRI's Emerging Hot Spot Analysis ("How Emerging Hot
Spot Analysis works", ArcGIS Pro documentation) so that its labels mean what analysts who
know that tool expect: Gi* for every cell at every time step (`gi_star_by_step`), the
Mann-Kendall trend test on each cell's series of Gi* z-scores (`mann_kendall`), then one
label per cell (`classify`).

Inputs and significance
-----------------------
*Significant hot spot* at a time step means Gi_Bin >= 2 (95 % confidence or more, with
the FDR correction of `geoapp.analysis.getis_ord`); *significant cold spot* means Gi_Bin
<= -2.  The 90 % class (+/-1) does not count: on a public map a label should stand on the
95 % level.  Each time step is analysed on its own, with spatial neighbours only (ESRI
by default also counts the same cells one time step back); FDR is applied per step.

The trend is the Mann-Kendall test of the cell's z-scores against time, two-sided; it is
*significant* when p < ``trend_alpha``: by default 0.10, i.e. 90 % confidence, the lowest
of the 90/95/99 % classes in which ESRI's space-time tools report a trend (ESRI's text
only says "statistically significant"); pass 0.05 for 95 %.

"At least 90 % of the time steps" is counted exactly (``10 * count >= 9 * steps``), so
with 10 steps it means 9 of them, with 12 steps 11 of them.

Labels (ESRI's definitions as we read them; hot shown, cold is the mirror image)
------------------------------------------------------------------------------------
``no_pattern``
    Fits none of the patterns below.
``new_hot``
    Significant hot spot at the final time step and never before.
``consecutive_hot``
    A single uninterrupted run of at least two significant hot spot steps ending at the
    final step; never a significant hot spot before that run; fewer than 90 % of all
    steps are significant hot spots.
``intensifying_hot``
    A significant hot spot in at least 90 % of the steps, the final one included, and the
    z-scores trend significantly upwards (clustering of high counts getting stronger).
``persistent_hot``
    A significant hot spot in at least 90 % of the steps, the final one included, with no
    significant trend in the z-scores.
``diminishing_hot``
    As intensifying, but the z-scores trend significantly downwards.
``sporadic_hot``
    A significant hot spot at the final step and, before it, an on-again off-again hot
    spot; fewer than 90 % of the steps are significant hot spots and none is a
    significant cold spot.
``oscillating_hot``
    A significant hot spot at the final step that was a significant cold spot at some
    earlier step; fewer than 90 % of the steps are significant hot spots.
``historical_hot``
    Not a significant hot spot at the final step, but a significant hot spot in at
    least 90 % of the steps.

Where ESRI's text leaves two labels possible, the final step decides the family and then
the first label in the list above wins: a cell that is a significant hot (cold) spot at
the final step gets a hot (cold) label from new ... oscillating, and ``historical`` is only
for cells that are significant neither way at the final step.  So a cell that was a cold
spot and turns hot for the first time is ``new_hot`` (not ``oscillating_hot``), and a
long-time hot spot that is a significant cold spot at the final step is ``new_cold``, not
``historical_hot``.  ESRI's "persistent" does not say "including the final time step"; a
cell hot in 90 % of the steps but not at the last is ``historical_hot`` here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geoapp.analysis.getis_ord import Band, gi_star

__all__ = [
    "HOT_SPOT_BIN",
    "LABELS",
    "TREND_ALPHA",
    "Trend",
    "classify",
    "gi_star_by_step",
    "mann_kendall",
]

HOT_SPOT_BIN = 2  # |Gi_Bin| >= 2: significant at 95 % confidence or more
TREND_ALPHA = 0.10  # Mann-Kendall trend significant at 90 % confidence
_KINDS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
LABELS: tuple[str, ...] = (
    "no_pattern",
    *(f"{kind}_{family}" for family in ("hot", "cold") for kind in _KINDS),
)


@dataclass(frozen=True)
class Trend:
    """The Mann-Kendall test of each row of a (cells x steps) array.

    ``s`` is Kendall's S (concordant minus discordant pairs of steps), ``var`` its variance
    under no trend with the correction for ties, ``z`` the normal score with continuity
    correction, ``p`` the two-sided p-value and ``sign`` the direction (-1, 0, 1, int8).
    """

    s: np.ndarray
    var: np.ndarray
    z: np.ndarray
    p: np.ndarray
    sign: np.ndarray


def mann_kendall(series: np.ndarray) -> Trend:
    """Mann-Kendall trend test for every row at once (rows: cells, columns: time steps).

    ESRI's emerging hot spot analysis tests the trend of each location's Gi* z-scores with
    it: rank based, so one extreme month does not make a trend, and valid without assuming
    any distribution of the series.  The variance is the usual one with the tie correction,
    ``(n (n - 1) (2n + 5) - sum_t t (t - 1) (2t + 5)) / 18`` over groups of ``t`` equal
    values, and ``z = (S - sign(S)) / sqrt(var)`` (the continuity correction of Kendall
    1975 and Hirsch et al. 1982).  The loops run over the pairs of steps (a few hundred for
    a few dozen months), each pass vectorised over all cells, so 100,000 cells x 36 steps
    take a fraction of a second.
    A row without variance (fewer than two steps, or all values equal) gets z = 0, p = 1.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.special import ndtr

    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"series must be (cells, steps), not of shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("series must not contain NaN")
    cells, steps = x.shape
    by_step = np.ascontiguousarray(x.T)  # one contiguous row per step: fast pair passes
    s = np.zeros(cells, dtype=np.int64)
    equal = np.ones((steps, cells), dtype=np.int64)  # how many values of its row equal each
    for i in range(steps - 1):
        for j in range(i + 1, steps):
            later = by_step[j] - by_step[i]
            s += later > 0
            s -= later < 0
            tie = later == 0
            equal[i] += tie
            equal[j] += tie
    # Summed per value, (t - 1)(2t + 5) adds up to t (t - 1)(2t + 5) per group of t ties.
    tie_term = ((equal - 1) * (2 * equal + 5)).sum(axis=0)
    var = (steps * (steps - 1) * (2 * steps + 5) - tie_term) / 18.0
    sign = np.sign(s).astype(np.int8)
    z = np.zeros(cells)
    np.divide(s - sign, np.sqrt(var), out=z, where=var > 0)
    p = 2.0 * ndtr(-np.abs(z))
    return Trend(s=s, var=var, z=z, p=p, sign=sign)


def gi_star_by_step(counts_by_step: np.ndarray, weights: Band) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and FDR classes for every cell and time step, (cells x steps) each.

    One call of `gi_star` on the whole array: each step is a column, analysed and
    FDR-corrected on its own with the same spatial weights, which is what `classify`
    expects.  Returns ``(z, bins)``.
    """
    counts = np.asarray(counts_by_step, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"counts_by_step must be (cells, steps), not of shape {counts.shape}")
    result = gi_star(counts, weights)
    return result.z, result.bin


def classify(
    z_by_step: np.ndarray,
    bin_by_step: np.ndarray,
    trend: Trend | None = None,
    *,
    trend_alpha: float = TREND_ALPHA,
) -> np.ndarray:
    """One emerging hot spot label per cell (see the module for the definitions).

    ``z_by_step`` and ``bin_by_step`` are (cells x steps) Gi* z-scores and classes, steps
    in time order; ``trend`` is `mann_kendall` of ``z_by_step`` and is computed when not
    given.  Every cell gets exactly one label of `LABELS`; the decisions are whole-array
    comparisons, so this costs no more than reading the arrays.
    """
    z = np.asarray(z_by_step, dtype=np.float64)
    bins = np.asarray(bin_by_step)
    if z.ndim != 2 or z.shape != bins.shape:
        raise ValueError(f"z {z.shape} and bins {bins.shape} must be the same (cells, steps)")
    if trend is None:
        trend = mann_kendall(z)
    if trend.p.shape != (z.shape[0],):
        raise ValueError(f"trend is for {trend.p.shape} cells, not {z.shape[0]}")
    significant = trend.p < trend_alpha
    rising = significant & (trend.sign > 0)
    falling = significant & (trend.sign < 0)
    labels = np.full(z.shape[0], "no_pattern", dtype=f"<U{max(map(len, LABELS))}")

    hot, cold = bins >= HOT_SPOT_BIN, bins <= -HOT_SPOT_BIN
    _label_family(labels, "hot", hot, cold, rising=rising, falling=falling)
    _label_family(labels, "cold", cold, hot, rising=falling, falling=rising)
    return labels


def _label_family(
    labels: np.ndarray,
    family: str,
    own: np.ndarray,
    other: np.ndarray,
    *,
    rising: np.ndarray,
    falling: np.ndarray,
) -> None:
    """Label the cells of one family (hot, or cold with the trend mirrored) in place.

    ``own`` marks the steps at which the cell is a significant spot of this family,
    ``other`` those of the opposite one; ``rising`` means the clustering of this family
    grows stronger (an upward z trend for hot, a downward one for cold).
    """
    steps = own.shape[1]
    count = own.sum(axis=1)
    mostly = 10 * count >= 9 * steps  # at least 90 % of the steps
    final = own[:, -1]
    # Length of the run of significant steps that ends at the final step.
    final_run = np.cumprod(own[:, ::-1], axis=1).sum(axis=1)
    new = final & (count == 1)
    consecutive = final & ~new & (final_run >= 2) & (count == final_run) & ~mostly
    steady = final & ~new & ~consecutive & mostly
    rest = final & ~new & ~consecutive & ~steady
    choices = {
        "new": new,
        "consecutive": consecutive,
        "intensifying": steady & rising,
        "diminishing": steady & falling,
        "persistent": steady & ~rising & ~falling,
        "oscillating": rest & other.any(axis=1),
        "sporadic": rest & ~other.any(axis=1),
        # Neither hot nor cold at the final step: a cold final step makes a cold label.
        "historical": ~final & ~other[:, -1] & mostly,
    }
    # The choices exclude one another (each needs a different final state or count), and
    # the two families need opposite final steps, so no cell is labelled twice.
    for kind, chosen in choices.items():
        labels[chosen] = f"{kind}_{family}"
