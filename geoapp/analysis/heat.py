"""Heat surfaces: a Gaussian kernel density of incidents on a regular grid.

A heat map answers "where do incidents concentrate" without cell boundaries, which the
cell counts and Gi* classes cannot.  The estimate is the classic binned KDE (Wand & Jones
1995, ch. 4; Silverman 1982): points are spread onto the grid by linear binning, and the
grid is convolved once, by FFT, with the Gaussian kernel sampled on the same grid.  The
cost is O(points) for the binning and O(cells log cells) for the convolution, which does
not grow with the number of points: a million incidents take a fraction of a second.

Privacy: the bandwidth is never published
-----------------------------------------
The surface is the binned points convolved with a known kernel.  The Gaussian's Fourier
transform never vanishes, so anyone who knows the bandwidth can divide it out and get the
binned counts back (up to rounding), and with them where sparse incidents happened, to
within a cell.  Without the bandwidth that deconvolution is ill-posed.  The bandwidth is
therefore an internal parameter: `Surface` does not carry it, and it must not be written
into API responses, tile metadata, legends or logs that leave the server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PADDING_BANDWIDTHS", "Surface", "default_bandwidth", "heat_rgba", "heat_surface"]

# The grid reaches this many bandwidths beyond the points' bounding box, and the kernel
# is cut off at the same distance, so no kernel mass falls off the grid.  A 2-D Gaussian
# keeps 99.46 % of its mass within +/-3 bandwidths in x and y; the sampled kernel is
# normalised to sum to 1, which gives the missing 0.54 % back proportionally.
PADDING_BANDWIDTHS = 3.0
MIN_BANDWIDTH_CELLS = 2.0  # a narrower kernel would show the binning pattern, not a density

# Colour stops of the heat image (ColorBrewer YlOrRd, 3 classes): low, middle, high.
HEAT_STOPS = np.array([[255, 237, 160], [254, 178, 76], [189, 0, 38]], dtype=np.float64)
HEAT_FLOOR = 0.05  # below this share of the peak a cell stays transparent


@dataclass(frozen=True)
class Surface:
    """A density grid: ``density[j, i]`` at the centre of cell (i, j), per square metre.

    The centre of cell (i, j) is ``(x0 + (i + 0.5) * cell_size, y0 + (j + 0.5) *
    cell_size)``: ``(x0, y0)`` is the lower-left corner of the grid and row ``j`` grows
    northwards (flip the rows for an image, whose first row is the top).  The densities
    are incidents per square metre: the surface integrates (sums times the cell area) to
    the number of points, or to the sum of the weights when weights were given.  Divide by
    that total for a probability density.  The bandwidth is deliberately not stored (see
    the module docstring).
    """

    density: np.ndarray
    x0: float
    y0: float
    cell_size: float

    @property
    def xs(self) -> np.ndarray:
        """The x coordinates of the cell centres, one per column."""
        return self.x0 + (np.arange(self.density.shape[1]) + 0.5) * self.cell_size

    @property
    def ys(self) -> np.ndarray:
        """The y coordinates of the cell centres, one per row."""
        return self.y0 + (np.arange(self.density.shape[0]) + 0.5) * self.cell_size

    @property
    def total(self) -> float:
        """The integral of the surface: the number of points, or the sum of the weights."""
        return float(self.density.sum() * self.cell_size**2)


def default_bandwidth(
    x: np.ndarray, y: np.ndarray, cell_size: float, weights: np.ndarray | None = None
) -> float:
    """Scott's rule on the pooled standard deviation, floored at two cells (metres).

    ``h = sigma * n ** (-1 / 6)`` with ``sigma = sqrt((var(x) + var(y)) / 2)``: Scott's
    (1992) normal-reference rule for two dimensions with one bandwidth for both axes (the
    kernel must be round, so that the map does not stretch hot spots along an axis).  With
    weights, the variances are weighted and ``n`` is Kish's effective sample size
    ``(sum w)^2 / sum w^2``, as scipy's gaussian_kde does.  The rule assumes one normal
    blob, so on clustered incidents it over-smooths; that errs on the side of privacy and
    of stable maps.  The floor of ``2 * cell_size`` keeps the kernel wider than the
    binning.  The result must never be published (see the module docstring).
    """
    xs, ys, w = _checked(x, y, weights)
    if cell_size <= 0:
        raise ValueError(f"cell_size must be positive, not {cell_size}")
    total = w.sum()
    mean_x, mean_y = (w @ xs) / total, (w @ ys) / total
    var = (w @ (xs - mean_x) ** 2 + w @ (ys - mean_y) ** 2) / (2 * total)
    n_eff = total**2 / (w @ w)
    scott = math.sqrt(max(var, 0.0)) * n_eff ** (-1.0 / 6.0)
    return max(scott, MIN_BANDWIDTH_CELLS * cell_size)


def heat_surface(
    x: np.ndarray,
    y: np.ndarray,
    cell_size: float,
    bandwidth: float | None = None,
    weights: np.ndarray | None = None,
) -> Surface:
    """The Gaussian kernel density of the points on a grid of `cell_size` metre cells.

    ``x``, ``y`` are in a metric CRS.  The bandwidth (the kernel's standard deviation, in
    metres) defaults to `default_bandwidth`.  The grid covers the points' bounding box
    plus at least ``PADDING_BANDWIDTHS`` bandwidths on each side (whole cells, aligned to
    multiples of `cell_size` so that surfaces of one area line up), so every point's
    kernel lies inside it and the surface integrates exactly to the number of points (or
    the weight sum): see `Surface` for the layout and units.

    Each point is shared among the four cell centres around it in proportion to its
    closeness (linear binning, which errs far less than assigning it to one cell), then
    the grid is convolved once with the Gaussian sampled at the cell offsets, by FFT.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.signal import fftconvolve

    xs, ys, w = _checked(x, y, weights)
    if cell_size <= 0:
        raise ValueError(f"cell_size must be positive, not {cell_size}")
    h = default_bandwidth(xs, ys, cell_size, w) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise ValueError(f"bandwidth must be positive, not {bandwidth}")

    reach = math.ceil(PADDING_BANDWIDTHS * h / cell_size)  # kernel half-width, in cells
    pad = reach + 1  # one more cell: binning shares a point with the next centre out
    first_x, first_y = math.floor(xs.min() / cell_size), math.floor(ys.min() / cell_size)
    nx = math.floor(xs.max() / cell_size) - first_x + 2 * pad + 1
    ny = math.floor(ys.max() / cell_size) - first_y + 2 * pad + 1
    x0, y0 = (first_x - pad) * cell_size, (first_y - pad) * cell_size

    grid = _linear_binning(xs, ys, w, x0, y0, cell_size, nx, ny)
    offsets = np.arange(-reach, reach + 1) * cell_size
    profile = np.exp(-0.5 * (offsets / h) ** 2)
    kernel = np.outer(profile, profile)
    kernel /= kernel.sum()
    density = fftconvolve(grid, kernel, mode="same")
    np.maximum(density, 0.0, out=density)  # FFT round-off leaves tiny negatives far out
    density /= cell_size**2
    return Surface(density=density, x0=float(x0), y0=float(y0), cell_size=float(cell_size))


def heat_rgba(density: np.ndarray, inside: np.ndarray | None = None) -> np.ndarray:
    """An RGBA image (rows north first, uint8) of a density grid, for a map overlay.

    Colours run yellow to dark red over the square root of the share of the peak (inside
    the area), so that secondary concentrations stay visible next to the strongest one;
    cells under `HEAT_FLOOR` of the peak, and cells outside `inside` (a boolean grid of
    the same shape, True where the community is), are transparent, so the map shows
    through where little happens.  Only 256 relative levels leave the server: no counts,
    no units and no bandwidth.
    """
    values = np.asarray(density, dtype=np.float64)
    mask = np.ones(values.shape, dtype=bool) if inside is None else np.asarray(inside, bool)
    if mask.shape != values.shape:
        raise ValueError(f"inside {mask.shape} must have the density's shape {values.shape}")
    peak = float(values[mask].max()) if mask.any() else 0.0
    share = np.where(mask, values / peak, 0.0) if peak > 0 else np.zeros(values.shape)
    level = np.sqrt(np.clip(share, 0.0, 1.0))
    position = level * (len(HEAT_STOPS) - 1)
    low = np.minimum(np.floor(position).astype(np.int64), len(HEAT_STOPS) - 2)
    frac = (position - low)[..., None]
    rgb = HEAT_STOPS[low] * (1 - frac) + HEAT_STOPS[low + 1] * frac
    alpha = np.where(share >= HEAT_FLOOR, 90 + 130 * level, 0.0)
    image = np.concatenate([rgb, alpha[..., None]], axis=-1)
    return np.ascontiguousarray(np.rint(image[::-1]).astype(np.uint8))


def _linear_binning(
    xs: np.ndarray,
    ys: np.ndarray,
    w: np.ndarray,
    x0: float,
    y0: float,
    cell_size: float,
    nx: int,
    ny: int,
) -> np.ndarray:
    """Share each point's weight among the four cell centres around it, bilinearly."""
    u = (xs - x0) / cell_size - 0.5  # position in cell-centre units
    v = (ys - y0) / cell_size - 0.5
    i = np.clip(np.floor(u).astype(np.int64), 0, nx - 2)
    j = np.clip(np.floor(v).astype(np.int64), 0, ny - 2)
    fx, fy = u - i, v - j
    base = j * nx + i
    size = nx * ny
    grid = np.bincount(base, w * (1 - fx) * (1 - fy), minlength=size)
    grid += np.bincount(base + 1, w * fx * (1 - fy), minlength=size)
    grid += np.bincount(base + nx, w * (1 - fx) * fy, minlength=size)
    grid += np.bincount(base + nx + 1, w * fx * fy, minlength=size)
    return grid.reshape(ny, nx)


def _checked(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates and weights as float arrays, checked; weights default to ones."""
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape or xs.size == 0:
        raise ValueError(f"need the same number (> 0) of x ({xs.size}) and y ({ys.size})")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("coordinates must be finite")
    if weights is None:
        return xs, ys, np.ones_like(xs)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != xs.shape or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative, one per point, not all 0")
    return xs, ys, w
