"""Gi* hot spots: the distance band, agreement with esda, planted clusters, FDR on noise."""

from __future__ import annotations

import time
import warnings

import esda
import libpysal
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import norm

from geoapp.analysis.getis_ord import Band, distance_band, fdr_bins, gi_star


def hex_grid(cols: int, rows: int, spacing: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of a pointy-top hexagon grid: odd rows shifted by half a cell."""
    i, j = np.meshgrid(np.arange(cols), np.arange(rows))
    x = (i + 0.5 * (j % 2)) * spacing
    y = j * spacing * np.sqrt(3) / 2
    return x.ravel().astype(float), y.ravel().astype(float)


def square_grid(side: int, spacing: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    return (i.ravel() * spacing).astype(float), (j.ravel() * spacing).astype(float)


def esda_g(values: np.ndarray, band: Band) -> esda.G_Local:
    """esda's Gi* on the same neighbours: binary, star (esda sets the diagonal to 1)."""
    w = libpysal.weights.WSP(band.w.tocsr()).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(values, w, star=True, transform="B", permutations=0)


# --- distance band ------------------------------------------------------------------------


def test_distance_band_is_the_smallest_with_min_neighbours() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 5000, 300), rng.uniform(0, 5000, 300)
    band = distance_band(x, y, min_neighbours=8)
    d = cdist(np.column_stack([x, y]), np.column_stack([x, y]))
    np.fill_diagonal(d, np.inf)
    expected = (d <= band.distance).astype(float)
    assert np.array_equal(band.w.toarray(), expected)
    assert band.w.diagonal().sum() == 0
    assert set(np.unique(band.w.data)) == {1.0}
    assert band.neighbours.min() >= 8
    # Any smaller band leaves some cell with fewer than 8 neighbours.
    assert ((d <= band.distance * 0.999).sum(axis=1) < 8).any()


def test_distance_band_on_hex_grid_keeps_ties() -> None:
    x, y = hex_grid(20, 20)
    band = distance_band(x, y)
    assert band.neighbours.min() >= 8
    # All six cells of a ring are at the same distance: neighbour counts of interior cells
    # are whole rings (6, 12, 18, ... 30 with the corner cells setting the band).
    interior = (x > 500) & (x < 1400) & (y > 500) & (y < 1200)
    assert np.all(band.neighbours[interior] % 6 == 0)
    assert (band.w != band.w.T).nnz == 0


def test_distance_band_refuses_too_few_cells() -> None:
    with pytest.raises(ValueError, match="neighbours"):
        distance_band(np.arange(5.0), np.zeros(5), min_neighbours=8)


# --- agreement with esda ------------------------------------------------------------------


@pytest.mark.parametrize("grid", ["hex", "square"])
def test_z_and_p_equal_esda(grid: str) -> None:
    x, y = hex_grid(20, 20) if grid == "hex" else square_grid(20)
    rng = np.random.default_rng(2024)
    values = rng.poisson(4.0, x.size).astype(float)
    values[:40] += rng.poisson(6.0, 40)  # some structure, so that z spans a range
    band = distance_band(x, y)
    ours = gi_star(values, band)
    theirs = esda_g(values, band)
    # esda added the self-weight itself (star=True on binary weights without a diagonal).
    assert np.all(theirs.w.sparse.diagonal() == 1)
    assert np.abs(ours.z).max() > 2  # not a trivial comparison
    np.testing.assert_allclose(ours.z, theirs.Zs, rtol=0, atol=1e-6)
    # esda's p_norm is one-sided (the tail beyond |z|); ours is two-sided.
    np.testing.assert_allclose(ours.p, 2 * theirs.p_norm, rtol=0, atol=1e-6)


def test_z_matches_ord_getis_formula_directly() -> None:
    """Independent of esda: the 1995 formula with dense matrices, general weights form."""
    x, y = square_grid(12)
    values = np.random.default_rng(5).poisson(3.0, x.size).astype(float)
    band = distance_band(x, y)
    w = band.w.toarray() + np.eye(band.n)
    n = band.n
    mean = values.mean()
    s = np.sqrt((values**2).mean() - mean**2)
    wi = w.sum(axis=1)
    z = (w @ values - mean * wi) / (s * np.sqrt((n * (w**2).sum(axis=1) - wi**2) / (n - 1)))
    np.testing.assert_allclose(gi_star(values, band).z, z, rtol=0, atol=1e-9)


# --- planted clusters and noise -----------------------------------------------------------


def planted(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """30 x 30 grid, Poisson(3) background, two 3 x 3 blocks at Poisson(12)."""
    x, y = square_grid(30)
    rng = np.random.default_rng(seed)
    values = rng.poisson(3.0, x.size).astype(float)
    i, j = (x / 100).astype(int), (y / 100).astype(int)
    block = ((abs(i - 7) <= 1) & (abs(j - 8) <= 1)) | ((abs(i - 21) <= 1) & (abs(j - 19) <= 1))
    values[block] = rng.poisson(12.0, block.sum())
    return x, y, values, block, i * 1000 + j


@pytest.mark.parametrize("seed", range(10))
def test_planted_clusters_are_99_percent_hot_spots(seed: int) -> None:
    x, y, values, block, _ = planted(seed)
    band = distance_band(x, y)
    result = gi_star(values, band)
    assert np.all(result.bin[block] == 3), result.bin[block]
    # No 99 % hot spot farther than the band from every planted cell.
    d = cdist(np.column_stack([x, y]), np.column_stack([x[block], y[block]])).min(axis=1)
    hot = result.bin == 3
    assert np.all(d[hot] <= band.distance * (1 + 1e-9)), d[hot].max()


def test_uniform_noise_rarely_gives_99_percent_spots() -> None:
    x, y = square_grid(30)
    band = distance_band(x, y)
    rates, raw_rates = [], []
    for seed in range(50):
        values = np.random.default_rng(1000 + seed).poisson(3.0, x.size).astype(float)
        result = gi_star(values, band)
        rates.append(np.mean(np.abs(result.bin) == 3))
        raw_rates.append(np.mean(result.p < 0.01))
    assert np.mean(rates) <= 0.01, np.mean(rates)
    assert sum(rate > 0 for rate in rates) <= 5
    # Without the correction the 99 % class would fire at about its nominal 1 %: the FDR
    # correction is what keeps the map clean, not a lack of variation in the data.
    assert np.mean(raw_rates) > 3 * max(np.mean(rates), 1e-4)


# --- FDR classes --------------------------------------------------------------------------


def test_fdr_bins_follow_benjamini_hochberg_per_level() -> None:
    # 10 cells: sorted p and the BH line k/10 * alpha.
    p = np.array([0.0005, 0.004, 0.006, 0.012, 0.03, 0.04, 0.2, 0.5, 0.7, 0.9])
    z = norm.isf(p / 2) * np.array([1, -1, 1, 1, -1, 1, 1, -1, 1, 1])
    bins = fdr_bins(z, p)
    # alpha 0.01: line 0.001, 0.002, 0.003 ... -> only p(1) = 0.0005 passes.
    # alpha 0.05: line 0.005, 0.010, 0.015, 0.020, 0.025, 0.030 -> p(6)=0.04 fails,
    #   p(5)=0.03 > 0.025 fails, p(4)=0.012 <= 0.020 passes: threshold 0.012.
    # alpha 0.10: line 0.01 ... 0.06 at k=6: 0.04 passes; 0.2 > 0.07: threshold 0.04.
    assert bins.tolist() == [3, -2, 2, 2, -1, 1, 0, 0, 0, 0]
    assert bins.dtype == np.int8


def test_fdr_bins_column_by_column() -> None:
    p = np.array([[0.0005, 0.5], [0.004, 0.5], [0.9, 0.0001]])
    z = np.ones_like(p)
    np.testing.assert_array_equal(
        fdr_bins(z, p), np.column_stack([fdr_bins(z[:, 0], p[:, 0]), fdr_bins(z[:, 1], p[:, 1])])
    )


def test_two_dimensional_values_are_analysed_per_column() -> None:
    x, y, values, _, _ = planted(3)
    band = distance_band(x, y)
    other = np.random.default_rng(9).poisson(3.0, x.size).astype(float)
    both = gi_star(np.column_stack([values, other]), band)
    for k, column in enumerate((values, other)):
        single = gi_star(column, band)
        np.testing.assert_allclose(both.z[:, k], single.z)
        np.testing.assert_array_equal(both.bin[:, k], single.bin)


def test_constant_values_have_no_pattern() -> None:
    x, y = square_grid(10)
    result = gi_star(np.full(x.size, 0.1), distance_band(x, y))
    assert np.all(result.z == 0) and np.all(result.p == 1) and np.all(result.bin == 0)


def test_values_must_match_cells() -> None:
    x, y = square_grid(10)
    with pytest.raises(ValueError, match="match"):
        gi_star(np.ones(99), distance_band(x, y))


def test_hundred_thousand_cells_in_well_under_a_second() -> None:
    x, y = hex_grid(320, 313, spacing=500.0)
    values = np.random.default_rng(1).poisson(2.0, x.size).astype(float)
    band = distance_band(x, y)
    start = time.perf_counter()
    result = gi_star(values, band)
    elapsed = time.perf_counter() - start
    assert result.z.shape == (x.size,) and x.size > 100_000
    assert elapsed < 0.5, f"gi_star took {elapsed:.2f} s"
