"""Heat surfaces: agreement with KDEpy's FFTKDE, mass, grid layout, bandwidth rule; the
image: north up, darkest at the peak, transparent outside the area and where little is."""

from __future__ import annotations

import math

import numpy as np
import pytest
from KDEpy import FFTKDE
from KDEpy.utils import cartesian

from geoapp.analysis.heat import (
    HEAT_FLOOR,
    PADDING_BANDWIDTHS,
    default_bandwidth,
    heat_rgba,
    heat_surface,
)


def clustered_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters of different sizes in a few kilometres, in metres."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2000.0, 3000.0], [3500.0, 2500.0], [2500.0, 1500.0]])
    spread = np.array([300.0, 150.0, 500.0])
    which = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    points = centres[which] + rng.normal(size=(n, 2)) * spread[which, None]
    return points[:, 0], points[:, 1]


def kdepy_on_grid(
    x: np.ndarray,
    y: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    h: float,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """KDEpy's FFTKDE evaluated at our cell centres, as a (rows = y, columns = x) array.

    KDEpy cuts the Gaussian where its 1-D value drops below an absolute 1e-4, which in
    metres (bandwidths of hundreds) would cut it inside 3 bandwidths; in units of the
    bandwidth (bw = 1) the cut is at 3.9 bandwidths.  The density scales by 1 / h^2.
    A custom grid must be the cartesian product of sorted, equidistant axes, x first.
    """
    grid = cartesian([xs / h, ys / h])
    data = np.column_stack([x, y]) / h
    values = FFTKDE(kernel="gaussian", bw=1.0).fit(data, weights=w).evaluate(grid)
    return values.reshape(len(xs), len(ys)).T / h**2


@pytest.mark.parametrize(("n", "cell_size", "bandwidth"), [(3000, 25.0, None), (500, 50.0, 250.0)])
def test_agrees_with_kdepy(n: int, cell_size: float, bandwidth: float | None) -> None:
    x, y = clustered_points(n, seed=n)
    surface = heat_surface(x, y, cell_size, bandwidth=bandwidth)
    h = default_bandwidth(x, y, cell_size) if bandwidth is None else bandwidth
    theirs = kdepy_on_grid(x, y, surface.xs, surface.ys, h)
    ours = surface.density / n  # ours counts points per m2; KDEpy is a probability density
    assert np.abs(ours - theirs).max() <= 0.02 * theirs.max()
    assert np.argmax(ours) == np.argmax(theirs)  # the peak is in the same cell


def test_weighted_agrees_with_kdepy_and_with_duplicates() -> None:
    x, y = clustered_points(800, seed=8)
    w = np.random.default_rng(8).integers(1, 4, size=x.size).astype(float)
    surface = heat_surface(x, y, 40.0, bandwidth=200.0, weights=w)
    theirs = kdepy_on_grid(x, y, surface.xs, surface.ys, 200.0, w)
    ours = surface.density / w.sum()
    assert np.abs(ours - theirs).max() <= 0.02 * theirs.max()
    # A weight of k is k copies of the point.
    copies = np.repeat(np.arange(x.size), w.astype(int))
    repeated = heat_surface(x[copies], y[copies], 40.0, bandwidth=200.0)
    np.testing.assert_allclose(repeated.density, surface.density, rtol=0, atol=1e-15)


def test_surface_integrates_to_the_number_of_points_or_the_weights() -> None:
    x, y = clustered_points(1234, seed=1)
    assert heat_surface(x, y, 30.0).total == pytest.approx(1234, rel=1e-12)
    w = np.random.default_rng(1).random(x.size)
    assert heat_surface(x, y, 30.0, weights=w).total == pytest.approx(w.sum(), rel=1e-12)
    assert heat_surface(x, y, 30.0).density.min() >= 0


def test_grid_covers_the_points_plus_three_bandwidths() -> None:
    x, y = clustered_points(300, seed=2)
    h = 180.0
    surface = heat_surface(x, y, 20.0, bandwidth=h)
    ny, nx = surface.density.shape
    assert surface.x0 <= x.min() - PADDING_BANDWIDTHS * h
    assert surface.y0 <= y.min() - PADDING_BANDWIDTHS * h
    assert surface.x0 + nx * 20.0 >= x.max() + PADDING_BANDWIDTHS * h
    assert surface.y0 + ny * 20.0 >= y.max() + PADDING_BANDWIDTHS * h
    assert surface.x0 % 20.0 == 0 and surface.y0 % 20.0 == 0  # aligned to the cell size
    # Rows grow northwards: the densest row is near the densest cluster's y (3000 m).
    peak_row, peak_col = np.unravel_index(np.argmax(surface.density), surface.density.shape)
    assert abs(surface.ys[peak_row] - 3000) < 200 and abs(surface.xs[peak_col] - 2000) < 200


def test_single_point_is_a_gaussian_bump() -> None:
    surface = heat_surface(np.array([1010.0]), np.array([2010.0]), 10.0, bandwidth=50.0)
    xx, yy = np.meshgrid(surface.xs, surface.ys)
    exact = np.exp(-((xx - 1010) ** 2 + (yy - 2010) ** 2) / (2 * 50.0**2)) / (2 * math.pi * 2500)
    # Linear binning of a point between centres and the kernel cut at 3 h: within 2 %.
    assert np.abs(surface.density - exact).max() <= 0.02 * exact.max()


def test_default_bandwidth_is_scotts_rule_floored_at_two_cells() -> None:
    x, y = clustered_points(2000, seed=3)
    sigma = math.sqrt((x.var() + y.var()) / 2)
    assert default_bandwidth(x, y, 10.0) == pytest.approx(sigma * 2000 ** (-1 / 6), rel=1e-12)
    tight_x = 500 + np.random.default_rng(3).normal(0, 5, 2000)
    assert default_bandwidth(tight_x, tight_x, 25.0) == 50.0
    # Weights: weighted variance and Kish's effective n; equal weights change nothing.
    assert default_bandwidth(x, y, 10.0, np.full(x.size, 3.0)) == pytest.approx(
        default_bandwidth(x, y, 10.0), rel=1e-12
    )


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="cell_size"):
        heat_surface(np.zeros(3), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="weights"):
        heat_surface(np.zeros(3), np.zeros(3), 10.0, weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="same number"):
        heat_surface(np.zeros(3), np.zeros(2), 10.0)


def test_heat_image_is_north_up_dark_at_the_peak_and_clear_outside() -> None:
    density = np.zeros((4, 5))
    density[0, 1] = 10.0  # the southernmost row: the image's last row
    density[2, 3] = 2.5  # a quarter of the peak
    density[3, 0] = 0.9 * HEAT_FLOOR * 10.0  # under the floor
    density[1, 4] = 50.0  # the largest value, but outside the area
    inside = np.ones_like(density, dtype=bool)
    inside[1, 4] = False
    rgba = heat_rgba(density, inside)
    assert rgba.shape == (4, 5, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[3, 1]) == (189, 0, 38, 220)  # the peak inside, flipped to the last row
    assert rgba[2, 4, 3] == 0  # outside the area: transparent however high
    assert rgba[0, 0, 3] == 0  # under the floor
    quarter = rgba[1, 3]
    assert quarter[3] == 155  # 90 + 130 * sqrt(0.25)
    assert tuple(quarter[:3]) == (254, 178, 76)  # sqrt(0.25) = 0.5: the middle stop
    assert (heat_rgba(np.zeros((2, 2)))[..., 3] == 0).all()
    with pytest.raises(ValueError, match="shape"):
        heat_rgba(density, inside[:2])
