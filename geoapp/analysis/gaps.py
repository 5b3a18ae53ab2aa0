"""Where residents' worries and recorded crime disagree, cell by cell.

The question in a joint session is "what do residents fear that the statistics do not
show, and the reverse?".  The test behind the answer: if concerns followed recorded
incidents, a cell holding a share s of the incidents would expect s x (all concerns) of
them.  A cell with far more concerns than that (and at least `min_concerns`) is a *worry
without record*; a cell with far fewer, where at least `min_expected` were expected, is a
*record without worry*.  "Far" is a two-sided Poisson test with the false-discovery-rate
correction over all cells at `alpha`, as for the hot spots.
Pure numpy/scipy; the caller counts both per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORRY = "worry_without_record"
RECORD = "record_without_worry"


@dataclass(frozen=True)
class Gaps:
    """Per cell: the concerns expected from the incidents, the tail p-value, the verdict."""

    expected: np.ndarray
    p: np.ndarray
    kind: np.ndarray  # WORRY, RECORD or ""


def concern_incident_gaps(
    concerns: np.ndarray,
    incidents: np.ndarray,
    alpha: float = 0.05,
    min_concerns: int = 3,
    min_expected: float = 3.0,
) -> Gaps:
    """Compare per-cell concern counts with what the incident counts would predict.

    The expected concerns spread all concerns over the cells in proportion to incidents
    plus one (a cell with no recorded incident still expects a little: residents may
    worry where nothing was reported, and a zero would make any concern "infinitely"
    surprising).
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.stats import poisson

    concerns = np.asarray(concerns, dtype=float)
    incidents = np.asarray(incidents, dtype=float)
    weight = incidents + 1.0
    expected = concerns.sum() * weight / weight.sum() if len(weight) else weight
    upper = poisson.sf(concerns - 1, expected)  # P(X >= observed)
    lower = poisson.cdf(concerns, expected)  # P(X <= observed)
    p = np.minimum(1.0, 2 * np.minimum(upper, lower))  # two-sided
    passed = p <= _fdr_threshold(p, alpha)
    kind = np.full(len(concerns), "", dtype=object)
    kind[passed & (upper < lower) & (concerns >= min_concerns)] = WORRY
    kind[passed & (lower < upper) & (expected >= min_expected)] = RECORD
    return Gaps(expected=expected, p=p, kind=kind.astype(str))


def _fdr_threshold(p: np.ndarray, alpha: float) -> float:
    """Benjamini-Hochberg: the largest p_(k) <= k/m alpha (-1 when none passes).

    Hundreds of cells are tested at once; without the correction about alpha of them
    would be flagged in a community where concerns follow incidents exactly.
    """
    ranked = np.sort(p)
    ok = ranked <= alpha * np.arange(1, len(p) + 1) / max(len(p), 1)
    return float(ranked[np.flatnonzero(ok)[-1]]) if ok.any() else -1.0
