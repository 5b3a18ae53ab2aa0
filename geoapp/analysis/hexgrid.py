"""Which hexagonal cell a point is in, and how many points each cell holds, in numpy.

The cells are PostGIS's `ST_Hexagon(size, i, j)` with origin 0,0: flat-topped hexagons of
edge `size` in a metric CRS, odd columns shifted up by half a cell height.  A point's cell
is arithmetic (axial coordinates, cube rounding), not a spatial join, so a million points
are placed in milliseconds, and a test compares every count with `ST_Covers` on the drawn
hexagons.  Pure functions: no database, no projection (the caller passes metres).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

SQRT3 = float(np.sqrt(3.0))
DENSE_LIMIT = 50_000_000  # bins: below this the counts are one np.bincount


def hex_cells(x: np.ndarray, y: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The (i, j) indices of the hexagon containing each point (`ST_Hexagon` numbering).

    Axial coordinates (q, r) are rounded through cube coordinates, which picks the nearest
    hexagon centre; the offset column/row of PostGIS follows from q and r.  Halves round
    to even, as PostgreSQL's `round(float8)` does.
    """
    q = (2.0 / 3.0 * x) / size
    r = (-1.0 / 3.0 * x + SQRT3 / 3.0 * y) / size
    rq, rr, rs = np.round(q), np.round(r), np.round(-q - r)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs + q + r)
    fix_q = (dq > dr) & (dq > ds)
    hq = np.where(fix_q, -rr - rs, rq).astype(np.int64)
    hr = np.where(fix_q, rr, np.where(dr > ds, -rq - rs, rr)).astype(np.int64)
    return hq, hr + (hq - (hq & 1)) // 2


def count_by_cell(
    x: np.ndarray, y: np.ndarray, group: np.ndarray, month: np.ndarray, sizes: list[int]
) -> np.ndarray:
    """Points counted per cell size, cell, group and month.

    `month` is months since 1970-01 (numpy's datetime64[M]).  Returns int64 rows
    (size, i, j, group, year, month 1-12, n), only the non-zero ones.  Every key is first
    replaced by a dense code (hashing, no sort of the points), so the count itself is one
    `np.bincount` (or, for a huge sparse key space, one `np.unique`).
    """
    out = []
    group_code, groups = pd.factorize(group, sort=True)
    month_code, months = pd.factorize(month, sort=True)
    for size in sizes:
        i, j = hex_cells(x, y, size)
        cell_code, cells = pd.factorize(i * (1 << 32) + (j + (1 << 31)), sort=True)
        key = (cell_code * len(groups) + group_code) * len(months) + month_code
        bins = len(cells) * len(groups) * len(months)
        if bins <= max(DENSE_LIMIT, 4 * len(key)):  # a dense count beats sorting
            n = np.bincount(key, minlength=bins)
            found = np.flatnonzero(n)
            n = n[found]
        else:
            found, n = np.unique(key, return_counts=True)
        cell, rest = np.divmod(found, len(groups) * len(months))
        g, m = np.divmod(rest, len(months))
        packed = cells[cell]
        month_value = months[m]
        out.append(np.column_stack([
            np.full(len(found), size), packed >> 32, (packed & 0xFFFFFFFF) - (1 << 31),
            groups[g], month_value // 12 + 1970, month_value % 12 + 1, n,
        ]).astype(np.int64))  # fmt: skip
    if not out:
        return np.zeros((0, 7), dtype=np.int64)
    return np.concatenate(out)


def hex_centres(i: np.ndarray, j: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The centre of cell (i, j): `ST_Hexagon`'s layout (odd columns half a cell higher)."""
    return 1.5 * size * i, SQRT3 * size * (j + 0.5 * (i & 1))


def hex_rings(i: np.ndarray, j: np.ndarray, size: float) -> np.ndarray:
    """Each cell's outline as an (n, 7, 2) array of closed rings, anticlockwise."""
    cx, cy = hex_centres(i, j, size)
    angles = np.deg2rad(np.arange(0, 420, 60))  # 0..360: six corners and the first again
    xs = cx[:, None] + size * np.cos(angles)[None, :]
    ys = cy[:, None] + size * np.sin(angles)[None, :]
    return np.stack([xs, ys], axis=-1)


def covering_cells(area: shapely.Geometry, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The (i, j) of every cell that touches `area` (metric CRS): the study area.

    A hot spot statistic needs the cells where nothing happened as much as the busy
    ones; this is the full set over a community, empty cells included.
    """
    minx, miny, maxx, maxy = area.bounds
    i_range = np.arange(int(np.floor(minx / (1.5 * size))) - 1,
                        int(np.ceil(maxx / (1.5 * size))) + 2)  # fmt: skip
    j_range = np.arange(int(np.floor(miny / (SQRT3 * size))) - 1,
                        int(np.ceil(maxy / (SQRT3 * size))) + 2)  # fmt: skip
    i, j = (a.ravel() for a in np.meshgrid(i_range, j_range, indexing="ij"))
    polygons = shapely.polygons(hex_rings(i, j, size))
    shapely.prepare(area)
    keep = shapely.intersects(area, polygons)
    return i[keep], j[keep]
