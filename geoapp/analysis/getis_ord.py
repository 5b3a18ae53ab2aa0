"""Local Getis-Ord Gi* hot spot statistics over grid cells, with ArcGIS-style FDR classes.

The map shows where incidents cluster more (hot) or less (cold) than chance would put
them, cell by cell.  The statistic, the neighbourhood rule and the confidence classes are
the ones analysts know from ArcGIS's Hot Spot Analysis, so a map made here reads like one
made there; esda (PySAL) gives the same z-scores to rounding (the tests check that).

Statistic
---------
Gi* (Getis & Ord 1992), in the standardised form of Ord & Getis (1995), with binary
weights and each cell counted as its own neighbour (``w_ii = 1``)::

    z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n sum_j w_ij^2 - W_i^2) / (n - 1)))

where ``W_i = sum_j w_ij`` (self included), ``xbar`` is the mean of all ``n`` values and
``S = sqrt(sum x^2 / n - xbar^2)``.  With binary weights ``sum_j w_ij^2 = W_i``, so the
denominator is ``S sqrt(W_i (n - W_i) / (n - 1))``.  This is ArcGIS's formula and, term
for term, esda's ``G_Local(star=True, transform="B").Zs`` (esda computes ``(G - E[G]) /
sqrt(V[G])`` with ``G = sum_j w_ij x_j / sum x``, ``E[G] = W_i / n`` and ``V[G] = W_i (n -
W_i) / ((n - 1) n^2) * S^2 / xbar^2``; multiplying through by ``n xbar`` gives the z above).

Why analytic, not permutations
------------------------------
The z-score is referred to the standard normal distribution, as ArcGIS does.  Conditional
permutations (esda's ``p_sim``) estimate the same null distribution by simulation: with
999 permutations the pseudo p-value cannot go below 0.001, which makes a 99 % class after
the FDR correction nearly unreachable on thousands of cells, the result changes with the
random seed, and it costs about a hundred times more.  The normal approximation needs
enough neighbours per cell to hold, which is why `distance_band` asks for at least eight.

Classes
-------
``bin`` is ArcGIS's Gi_Bin with the False Discovery Rate correction: +/-3, +/-2, +/-1 for
hot/cold spots at 99 %, 95 % and 90 % confidence, 0 for not significant.  For each level
(p = 0.01, 0.05, 0.10) a Benjamini-Hochberg threshold is found over all cells' p-values,
and a cell gets the highest level whose threshold its p-value passes.  Without the
correction about 1 % of the cells of a map with no pattern at all would show as 99 % hot
or cold spots, and a reader cannot tell those from real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["FDR_LEVELS", "Band", "GiStar", "distance_band", "fdr_bins", "gi_star"]

# (p-value, bin) from the weakest to the strongest level: a cell keeps the last it passes.
FDR_LEVELS: tuple[tuple[float, int], ...] = ((0.10, 1), (0.05, 2), (0.01, 3))
# Pairs at exactly the band distance must be neighbours, but query() and query_pairs()
# may round that distance differently in the last bit; a relative slack of 1e-9 (a
# micrometre per kilometre) keeps them without admitting any real farther cell.
_BAND_SLACK = 1e-9


@dataclass(frozen=True)
class Band:
    """A fixed distance band and its binary spatial weights.

    ``w`` is an ``n x n`` CSR matrix with 1.0 where two different cells are at most
    ``distance`` metres apart and no diagonal: Gi* adds each cell to its own neighbourhood
    itself, and Gi (without the star) or other statistics can reuse the same matrix.
    """

    distance: float
    w: sparse.csr_array

    @property
    def n(self) -> int:
        """The number of cells."""
        return int(self.w.shape[0])

    @property
    def neighbours(self) -> np.ndarray:
        """Each cell's number of neighbours, itself not included."""
        return np.diff(self.w.indptr)


@dataclass(frozen=True)
class GiStar:
    """Gi* results per cell (or per cell and column, for a 2-D input).

    ``z`` are the Gi* z-scores, ``p`` their two-sided normal p-values, ``bin`` the FDR
    classes -3..3 (int8) and ``band`` the weights they were computed with.
    """

    z: np.ndarray
    p: np.ndarray
    bin: np.ndarray
    band: Band


def distance_band(x: np.ndarray, y: np.ndarray, min_neighbours: int = 8) -> Band:
    """The smallest distance band that gives every cell at least `min_neighbours` neighbours.

    Gi* compares a cell's neighbourhood sum with what chance would give; with too few
    neighbours the normal approximation behind its p-value fails, and a cell with none
    would be compared with itself only.  ArcGIS's default distance for Hot Spot Analysis
    likewise guarantees every feature a neighbour, and its guidance is for each feature to
    have about eight.  A fixed band (rather than k nearest neighbours) keeps the same
    spatial scale everywhere on the map, so a hot spot means the same thing in the town
    centre as on its edge.  The band is set by the most isolated cell, so cells far from
    all others make it wide for everyone: pass the cells of one contiguous area.  Edge and
    corner cells count too: on a block of hexagons a corner cell needs the third ring out
    to reach eight neighbours, so interior cells get 30.

    ``x`` and ``y`` are cell centroids in a metric CRS (metres); the band is in the same
    unit.  Cells tied at exactly the band distance are all neighbours, so on a regular grid
    many cells have more than `min_neighbours`.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy import sparse
    from scipy.spatial import cKDTree

    points = _points(x, y)
    n = len(points)
    if min_neighbours < 1:
        raise ValueError(f"min_neighbours must be at least 1, not {min_neighbours}")
    if n <= min_neighbours:
        raise ValueError(f"{n} cells cannot give each cell {min_neighbours} neighbours")
    tree = cKDTree(points)
    # k + 1 nearest: the cell itself (or a duplicate of it) at distance 0, then k others.
    nearest, _ = tree.query(points, k=min_neighbours + 1, workers=-1)
    band = float(nearest[:, -1].max())
    pairs = tree.query_pairs(r=band * (1 + _BAND_SLACK), output_type="ndarray")
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    ones = np.ones(len(rows), dtype=np.float64)
    w = sparse.coo_array((ones, (rows, cols)), shape=(n, n)).tocsr()
    w.sort_indices()
    return Band(distance=band, w=w)


def gi_star(values: np.ndarray, weights: Band) -> GiStar:
    """Gi* z-scores, two-sided p-values and FDR classes for every cell.

    ``values`` holds one value per cell (counts, usually), in the order of the cells given
    to `distance_band`; a 2-D ``(cells, columns)`` array is analysed column by column (each
    column on its own, FDR included), which is how the time steps of an emerging hot spot
    analysis are done in one pass.  Everything is two sparse matrix-vector products and a
    sort, so 100,000 cells take milliseconds.

    A column whose values are all equal has no pattern: its z-scores are 0, its p-values 1.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.special import ndtr

    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] != weights.n:
        raise ValueError(f"values of shape {x.shape} do not match {weights.n} cells")
    if not np.isfinite(x).all():
        raise ValueError("values must be finite")
    z = _z_scores(x, weights)
    p = 2.0 * ndtr(-np.abs(z))
    return GiStar(z=z, p=p, bin=fdr_bins(z, p), band=weights)


def fdr_bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ArcGIS's Gi_Bin classes with the False Discovery Rate correction (int8, -3..3).

    For each level in `FDR_LEVELS` the Benjamini-Hochberg threshold over all cells is the
    largest p-value ``p_(k)`` with ``p_(k) <= k / n * level`` (p-values sorted ascending);
    cells at or below it are significant at that level.  The thresholds shrink with the
    level, so a cell ends with the strongest level it reaches; the sign is z's.  A 2-D
    input is corrected column by column.
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if z.shape != p.shape:
        raise ValueError(f"z {z.shape} and p {p.shape} differ in shape")
    column = p.ndim == 1
    p2 = p[:, None] if column else p
    n = p2.shape[0]
    ordered = np.sort(p2, axis=0)
    rank_share = (np.arange(1, n + 1, dtype=np.float64) / n)[:, None]
    level = np.zeros(p2.shape, dtype=np.int8)
    for alpha, value in FDR_LEVELS:
        passes = ordered <= rank_share * alpha
        any_pass = passes.any(axis=0)
        last = n - 1 - np.argmax(passes[::-1], axis=0)
        threshold = np.where(any_pass, ordered[last, np.arange(p2.shape[1])], -1.0)
        level[p2 <= threshold] = value
    if column:
        level = level[:, 0]
    return (level * np.sign(z)).astype(np.int8)


def _z_scores(x: np.ndarray, band: Band) -> np.ndarray:
    """Ord & Getis (1995) Gi* z-scores with binary weights and self-weight 1 (see module)."""
    n = band.n
    own = (band.neighbours + 1).astype(np.float64)  # W_i, the cell itself included
    if x.ndim == 2:
        own = own[:, None]
    local_sum = band.w @ x + x
    mean = x.mean(axis=0)
    spread = x.std(axis=0)  # S: population standard deviation, as in the formula
    # All values equal: no pattern; std() may leave rounding noise instead of an exact 0.
    spread = np.where(np.ptp(x, axis=0) > 0, spread, 0.0)
    numerator = local_sum - mean * own
    denominator = spread * np.sqrt(own * (n - own) / (n - 1))
    z = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    np.divide(numerator, denominator, out=z, where=denominator > 0)
    return z


def _points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The centroids as an (n, 2) float array, checked."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"x ({xs.size}) and y ({ys.size}) differ in length")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("coordinates must be finite")
    return np.column_stack([xs, ys])
