"""Emerging hot spots: Mann-Kendall against references, one test per label, end to end."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, norm

from geoapp.analysis.emerging import (
    LABELS,
    classify,
    gi_star_by_step,
    mann_kendall,
)
from geoapp.analysis.getis_ord import distance_band, gi_star

STEPS = 10  # 90 % of the steps = 9 of them


def reference_mann_kendall(x: np.ndarray) -> tuple[int, float, float, float]:
    """The textbook O(n^2) test for one series: S, tie-corrected variance, z, p."""
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i in range(n) for j in range(i + 1, n))
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in counts)) / 18
    if s > 0:
        z = (s - 1) / np.sqrt(var)
    elif s < 0:
        z = (s + 1) / np.sqrt(var)
    else:
        z = 0.0
    return int(s), float(var), float(z), float(2 * norm.sf(abs(z)))


# --- Mann-Kendall -------------------------------------------------------------------------


def test_mann_kendall_matches_reference_with_ties() -> None:
    rng = np.random.default_rng(11)
    series = rng.integers(0, 5, size=(200, 15)).astype(float)  # many ties
    series[:20] += np.arange(15) * 0.7  # some trends
    series[20:40] -= np.arange(15) * 0.7
    trend = mann_kendall(series)
    for row, values in enumerate(series):
        s, var, z, p = reference_mann_kendall(values)
        assert trend.s[row] == s
        assert trend.var[row] == pytest.approx(var, abs=1e-9)
        assert trend.z[row] == pytest.approx(z, abs=1e-12)
        assert trend.p[row] == pytest.approx(p, abs=1e-12)
        assert trend.sign[row] == np.sign(s)
    assert (trend.p < 0.05).sum() >= 30  # the planted trends are found


def test_mann_kendall_without_ties_agrees_with_kendalltau() -> None:
    rng = np.random.default_rng(12)
    series = rng.normal(size=(100, 24)) + np.linspace(0, 1, 24) * rng.normal(size=(100, 1))
    trend = mann_kendall(series)
    time = np.arange(24)
    pairs = 24 * 23 / 2
    for row, values in enumerate(series):
        tau, p_tau = kendalltau(time, values, method="asymptotic")
        assert trend.s[row] == pytest.approx(tau * pairs, abs=1e-9)
        # kendalltau has no continuity correction: compare with S / sqrt(var).
        p_plain = 2 * norm.sf(abs(trend.s[row]) / np.sqrt(trend.var[row]))
        assert p_plain == pytest.approx(p_tau, rel=1e-9, abs=1e-12)


def test_mann_kendall_degenerate_rows() -> None:
    trend = mann_kendall(np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]]))
    assert trend.z[0] == 0 and trend.p[0] == 1 and trend.sign[0] == 0
    assert trend.s[1] == 6 and trend.sign[1] == 1
    single = mann_kendall(np.array([[5.0]]))
    assert single.z[0] == 0 and single.p[0] == 1


# --- labels on hand-built series ----------------------------------------------------------


def label(bins: list[int], z: list[float] | np.ndarray | None = None, **kwargs: float) -> str:
    """Classify one cell; z defaults to 2.5 x bin (no trend beyond what the bins make)."""
    b = np.array([bins], dtype=np.int8)
    zz = b * 2.5 if z is None else np.array([z], dtype=float)
    return str(classify(zz, b, **kwargs)[0])


RISING = 3 + 0.5 * np.arange(STEPS)  # Mann-Kendall p < 0.001
FALLING = 8 - 0.5 * np.arange(STEPS)
FLAT = np.array([4.0, 5.0] * (STEPS // 2))  # S = 5 with ties: p = 0.67


def test_no_pattern() -> None:
    assert label([0] * STEPS) == "no_pattern"
    assert label([1] * STEPS) == "no_pattern"  # 90 % confidence is not significant here
    assert label([0, 3, 3, 3, 0, 0, 0, 0, 0, 0]) == "no_pattern"  # hot once, not now


def test_new_hot() -> None:
    assert label([0] * 9 + [2]) == "new_hot"
    assert label([0, 0, -2, 0, 0, 0, 0, 0, 0, 3]) == "new_hot"  # first hot: new wins


def test_consecutive_hot() -> None:
    assert label([0] * 7 + [2, 3, 3]) == "consecutive_hot"
    assert label([0, 0, 0, 1, 1, 0, 0, 0, 2, 2]) == "consecutive_hot"  # 90 % bins don't count


def test_intensifying_hot() -> None:
    assert label([3] * STEPS, RISING) == "intensifying_hot"
    assert label([0] + [3] * 9, RISING) == "intensifying_hot"  # 9 of 10 steps


def test_persistent_hot() -> None:
    assert label([3] * STEPS, FLAT) == "persistent_hot"
    assert label([2, 3, 0, 3, 2, 3, 3, 2, 3, 3], FLAT) == "persistent_hot"


def test_diminishing_hot() -> None:
    assert label([3] * STEPS, FALLING) == "diminishing_hot"


def test_sporadic_hot() -> None:
    assert label([0, 2, 0, 0, 3, 0, 0, 0, 0, 2]) == "sporadic_hot"
    assert label([2, 2, 0, 0, 0, 0, 0, 0, 3, 3]) == "sporadic_hot"  # hot before the final run


def test_oscillating_hot() -> None:
    assert label([0, -2, 0, 0, 3, 0, 0, 0, 0, 2]) == "oscillating_hot"
    assert label([2, 2, 0, -3, 0, 0, 0, 0, 3, 3]) == "oscillating_hot"


def test_historical_hot() -> None:
    assert label([3] * 9 + [0]) == "historical_hot"
    assert label([3] * 9 + [1]) == "historical_hot"
    assert label([3] * 9 + [0], FALLING) == "historical_hot"  # not hot now: not diminishing


def test_final_cold_step_decides_the_family() -> None:
    # A long-time hot spot that is a significant cold spot now: documented choice.
    assert label([3] * 9 + [-2]) == "new_cold"


def test_new_cold() -> None:
    assert label([0] * 9 + [-2]) == "new_cold"


def test_consecutive_cold() -> None:
    assert label([0] * 6 + [-2, -2, -3, -3]) == "consecutive_cold"


def test_intensifying_and_diminishing_cold() -> None:
    assert label([-3] * STEPS, -RISING) == "intensifying_cold"  # z falling: colder
    assert label([-3] * STEPS, -FALLING) == "diminishing_cold"


def test_persistent_cold() -> None:
    assert label([-3] * STEPS, -FLAT) == "persistent_cold"


def test_sporadic_oscillating_historical_cold() -> None:
    assert label([0, -2, 0, 0, -3, 0, 0, 0, 0, -2]) == "sporadic_cold"
    assert label([0, 2, 0, 0, -3, 0, 0, 0, 0, -2]) == "oscillating_cold"
    assert label([-3] * 9 + [0]) == "historical_cold"


def test_trend_significance_level() -> None:
    # 12 inversions of 0..9: S = 21, z = 20 / sqrt(125) = 1.79, p = 0.074.
    z = 3 + 0.5 * np.array([4, 3, 2, 1, 0, 6, 5, 8, 7, 9])
    assert mann_kendall(z[None, :]).p[0] == pytest.approx(0.0736, abs=1e-3)
    assert label([3] * STEPS, z) == "intensifying_hot"  # default: 90 %
    assert label([3] * STEPS, z, trend_alpha=0.05) == "persistent_hot"


def test_labels_are_from_the_published_list() -> None:
    rng = np.random.default_rng(3)
    cells, steps = 20_000, 12
    # Each cell leans hot, cold or neither (Dirichlet), with a random trend in its z.
    share = rng.dirichlet([0.3, 0.3, 0.3], size=cells)
    state = (rng.random((cells, steps, 1)) > np.cumsum(share, axis=1)[:, None, :]).sum(axis=2)
    bins = np.array([3, 0, -3], dtype=np.int8)[state]
    drift = rng.normal(0, 0.4, size=(cells, 1)) * np.arange(steps)
    z = bins * 1.5 + drift + rng.normal(size=bins.shape)
    labels = classify(z, bins)
    assert set(labels) == set(LABELS)  # every label is reachable, nothing else comes out


def test_classify_checks_shapes() -> None:
    with pytest.raises(ValueError, match="same"):
        classify(np.zeros((3, 4)), np.zeros((3, 5), dtype=np.int8))


# --- Gi* per step and a planted space-time pattern ----------------------------------------


def test_gi_star_by_step_is_gi_star_per_column() -> None:
    i, j = np.meshgrid(np.arange(15), np.arange(15))
    x, y = i.ravel() * 100.0, j.ravel() * 100.0
    counts = np.random.default_rng(4).poisson(3.0, size=(x.size, 6))
    band = distance_band(x, y)
    z, bins = gi_star_by_step(counts, band)
    assert z.shape == bins.shape == counts.shape
    for step in range(counts.shape[1]):
        single = gi_star(counts[:, step], band)
        np.testing.assert_allclose(z[:, step], single.z)
        np.testing.assert_array_equal(bins[:, step], single.bin)


def test_planted_space_time_pattern() -> None:
    steps = 12
    i, j = np.meshgrid(np.arange(30), np.arange(30))
    i, j = i.ravel(), j.ravel()
    x, y = i * 100.0, j * 100.0
    rng = np.random.default_rng(21)
    counts = rng.poisson(3.0, size=(x.size, steps)).astype(float)
    old = (abs(i - 7) <= 1) & (abs(j - 8) <= 1)  # hot throughout
    emerging = (abs(i - 21) <= 1) & (abs(j - 19) <= 1)  # hot in the last three steps
    counts[old] = rng.poisson(12.0, size=(old.sum(), steps))
    counts[np.ix_(emerging, np.arange(steps - 3, steps))] = rng.poisson(15.0, (emerging.sum(), 3))
    band = distance_band(x, y)
    z, bins = gi_star_by_step(counts, band)
    labels = classify(z, bins)
    steady = {"persistent_hot", "intensifying_hot", "diminishing_hot"}
    assert set(labels[old]) <= steady
    assert set(labels[emerging]) == {"consecutive_hot"}
    far = np.hypot(x - 700, y - 800) > 600
    far &= np.hypot(x - 2100, y - 1900) > 600
    assert np.mean(labels[far] == "no_pattern") > 0.95
