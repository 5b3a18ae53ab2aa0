"""Hot spots of a community's incidents: Gi*, their trend, and where concerns disagree.

The analysis itself is pure (`geoapp.analysis`); this module gathers its inputs (the
incidents of a period and groups, the study area's cells, residents' accepted concerns),
runs it and caches the result per community, parameters and data version, so a joint
session can click through the map without waiting and a new import is never hidden by an
old answer (the version is part of the key).  Flask-free: the web layer shapes the output.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from geoapp.analysis.emerging import classify, gi_star_by_step, mann_kendall
from geoapp.analysis.gaps import concern_incident_gaps
from geoapp.analysis.getis_ord import distance_band, gi_star
from geoapp.analysis.hexgrid import covering_cells, hex_cells, hex_centres, hex_rings
from geoapp.geo.crs import project, transformer
from geoapp.services.incident_cells import incident_points

MIN_STEPS = 10  # months: ESRI's emerging hot spot analysis needs at least ten time steps
MIN_NEIGHBOURS = 8
CACHE_SECONDS = 24 * 3600
CONCERN_STATUSES = ("accepted", "in_progress", "resolved")


class Cache(Protocol):
    """What the result cache needs: Redis's get and setex (or an in-process stand-in)."""

    def get(self, key: str) -> bytes | None: ...  # noqa: D102

    def setex(self, key: str, seconds: int, value: bytes) -> Any: ...  # noqa: D102


class MemoryCache:
    """A per-process cache for when no Redis is configured (one worker, tests, the CLI)."""

    def __init__(self) -> None:
        """An empty cache."""
        self._items: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, if any."""
        return self._items.get(key)

    def setex(self, key: str, seconds: int, value: bytes) -> None:
        """Store `value` (the expiry is ignored: the process is short-lived)."""
        if len(self._items) > 64:
            self._items.clear()
        self._items[key] = value


@dataclass(frozen=True)
class HotspotQuery:
    """One analysis: a community, a date range (both ends included), groups, a cell size."""

    community_id: int
    start: date
    end: date
    category_ids: tuple[int, ...] = ()  # () = all groups
    size_m: int = 500


@dataclass
class Hotspots:
    """The analysis of one query: per study-area cell, in metric (i, j) order.

    `by_step` is the cells x months count table behind the trend chart; `trend` is empty
    strings when the period has fewer than `MIN_STEPS` months.  `band_m` is the distance
    band Gi* used (stated on the page, as an analyst must be able to).
    """

    i: np.ndarray
    j: np.ndarray
    count: np.ndarray
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_bin: np.ndarray
    trend: np.ndarray
    concerns: np.ndarray
    expected_concerns: np.ndarray
    gap: np.ndarray
    by_step: np.ndarray
    months: np.ndarray  # first day of each step, datetime64[M]
    band_m: float
    srid: int
    size_m: float

    def to_bytes(self) -> bytes:
        """The result as an .npz (no pickle: a cache entry must not be able to run code)."""
        out = io.BytesIO()
        arrays = {k: v for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        scalars = {k: np.array(getattr(self, k)) for k in ("band_m", "srid", "size_m")}
        np.savez(out, **arrays, **scalars)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Hotspots:
        """Read back `to_bytes`."""
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            values = {k: data[k] for k in data.files}
        return cls(**{**values, "band_m": float(values["band_m"]), "srid": int(values["srid"]),
                      "size_m": float(values["size_m"])})  # fmt: skip

    def centre_wgs84(self, cells: Sequence[int]) -> tuple[float, float]:
        """The mean centre of some cells in lon/lat (to name the place they are in)."""
        x, y = hex_centres(self.i[list(cells)], self.j[list(cells)], self.size_m)
        lon, lat = transformer(self.srid, 4326).transform(float(x.mean()), float(y.mean()))
        return float(lon), float(lat)

    def rings_wgs84(self) -> np.ndarray:
        """Each cell's hexagon in lon/lat, (n, 7, 2), for GeoJSON."""
        rings = hex_rings(self.i, self.j, self.size_m)
        lon, lat = transformer(self.srid, 4326).transform(rings[..., 0], rings[..., 1])
        return np.stack([lon, lat], axis=-1)


def data_version(session: Session, community_id: int) -> str:
    """Changes whenever the community's incidents or concerns change (the cache key)."""
    row = session.execute(text(
        "SELECT (SELECT coalesce(max(id), 0) || '.' || count(*) FROM import_batch "
        "        WHERE community_id = :c), "
        "       (SELECT coalesce(max(updated_at)::text, '-') || '.' || count(*) FROM concern "
        "        WHERE community_id = :c)"), {"c": community_id}).one()  # fmt: skip
    return f"{row[0]}/{row[1]}"


def latest_day(session: Session, community_id: int) -> date | None:
    """The date of the community's latest incident (the default end of an analysis)."""
    return session.execute(text("SELECT max(occurred_on) FROM incident WHERE community_id = :c"),
                           {"c": community_id}).scalar()  # fmt: skip


def analyse(session: Session, query: HotspotQuery, cache: Cache | None = None) -> Hotspots | None:
    """The hot spots for `query`, from the cache when the data has not changed since.

    None when the community has no boundary (no study area to test against).
    """
    key = cache_key("hotspots", session, query)
    if cache is not None:
        raw = cache.get(key)
        if raw is not None:
            return Hotspots.from_bytes(raw)
    result = compute(session, query)
    if result is not None and cache is not None:
        cache.setex(key, CACHE_SECONDS, result.to_bytes())
    return result


def cache_key(kind: str, session: Session, query: HotspotQuery) -> str:
    """A cache key for one product of `query` that changes with the community's data."""
    version = data_version(session, query.community_id)
    digest = hashlib.sha256(json.dumps([asdict(query), version], default=str).encode())
    return f"{kind}:{digest.hexdigest()}"


def chosen_points(
    session: Session, query: HotspotQuery
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude, latitude and day of the incidents in the query's period and groups."""
    points = incident_points(session, query.community_id)
    day = points.day
    chosen = (day >= np.datetime64(query.start)) & (day <= np.datetime64(query.end))
    if query.category_ids:
        chosen &= np.isin(points.category, np.asarray(query.category_ids))
    return points.lon[chosen], points.lat[chosen], day[chosen]


def _study_area(
    session: Session, community_id: int, size: float
) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The metric SRID and the sorted (i, j) cells covering the community, or None."""
    row = session.execute(text("SELECT ST_AsBinary(geom), metric_srid FROM community "
                               "WHERE id = :c"), {"c": community_id}).one()  # fmt: skip
    if row[0] is None:
        return None
    srid = int(row[1])
    area = project(shapely.from_wkb(bytes(row[0])), 4326, srid)
    ci, cj = covering_cells(area, size)
    order = np.lexsort((cj, ci))
    return srid, ci[order], cj[order]


def from_published(
    session: Session, community_id: int, size_m: int, published: dict[tuple[int, int], int],
    year: int,
) -> Hotspots | None:  # fmt: skip
    """Gi* classes computed from a published table only (for everyone below analysts).

    `published` is a release's counts with withheld cells as 0 (`releases.counts`): the
    input is exactly what the public already has, so the classes reveal nothing more,
    however the audience combines them with the table.  No trend (one step) and no concern
    gaps (those need true points).
    """
    found = _study_area(session, community_id, float(size_m))
    if found is None:
        return None
    srid, ci, cj = found
    count = np.array([published.get((int(i), int(j)), 0) for i, j in zip(ci, cj, strict=True)],
                     dtype=np.int64)  # fmt: skip
    band = distance_band(*hex_centres(ci, cj, float(size_m)), MIN_NEIGHBOURS)
    overall = gi_star(count.astype(float), band)
    n = len(ci)
    return Hotspots(
        i=ci, j=cj, count=count, gi_z=overall.z, gi_p=overall.p, gi_bin=overall.bin,
        trend=np.full(n, "", dtype="<U24"), concerns=np.zeros(n, dtype=np.int64),
        expected_concerns=np.zeros(n), gap=np.full(n, "", dtype="<U24"),
        by_step=count.reshape(n, 1), months=np.array([np.datetime64(f"{year}-01", "M")]),
        band_m=float(band.distance), srid=srid, size_m=float(size_m),
    )  # fmt: skip


def compute(session: Session, query: HotspotQuery) -> Hotspots | None:
    """Run the analysis (no cache): cells, counts, Gi*, emerging labels, concern gaps."""
    size = float(query.size_m)
    found = _study_area(session, query.community_id, size)
    if found is None:
        return None
    srid, ci, cj = found
    to_metric = transformer(4326, srid)
    keys = ci * (1 << 32) + cj

    lon, lat, day = chosen_points(session, query)
    x, y = to_metric.transform(lon, lat)
    cell = _cell_index(keys, *hex_cells(np.asarray(x), np.asarray(y), size))
    first = np.datetime64(query.start, "M")
    months = np.arange(first, np.datetime64(query.end, "M") + 1)
    step = (day.astype("datetime64[M]") - first).astype(np.int64)
    inside = cell >= 0
    n_cells, n_steps = len(keys), len(months)
    by_step = np.bincount(cell[inside] * n_steps + step[inside],
                          minlength=n_cells * n_steps).reshape(n_cells, n_steps)  # fmt: skip
    count = by_step.sum(axis=1)

    band = distance_band(*hex_centres(ci, cj, size), MIN_NEIGHBOURS)
    overall = gi_star(count.astype(float), band)
    trend = np.full(n_cells, "", dtype="<U24")
    if n_steps >= MIN_STEPS and count.sum() > 0:
        z_steps, bin_steps = gi_star_by_step(by_step.astype(float), band)
        trend = classify(z_steps, bin_steps, mann_kendall(z_steps)).astype("<U24")

    concerns = _concern_counts(session, query, keys, to_metric, size)
    gaps = concern_incident_gaps(concerns, count)
    result = Hotspots(
        i=ci, j=cj, count=count, gi_z=overall.z, gi_p=overall.p, gi_bin=overall.bin,
        trend=trend, concerns=concerns, expected_concerns=gaps.expected,
        gap=np.asarray(gaps.kind, dtype="<U24"), by_step=by_step, months=months,
        band_m=float(band.distance), srid=srid, size_m=size,
    )  # fmt: skip
    return result


def _cell_index(keys: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Position of each (i, j) in the sorted study-area `keys`, -1 when outside it."""
    wanted = i * (1 << 32) + j
    at = np.searchsorted(keys, wanted)
    at_clipped = np.minimum(at, len(keys) - 1)
    return np.where((at < len(keys)) & (keys[at_clipped] == wanted), at_clipped, -1)


def _concern_counts(
    session: Session, query: HotspotQuery, keys: np.ndarray, to_metric: Transformer, size: float
) -> np.ndarray:
    """Residents' accepted concerns of the period per study-area cell (true points: staff)."""
    rows = session.execute(text(
        "SELECT ST_X(point), ST_Y(point) FROM concern WHERE community_id = :c "
        "AND status IN :statuses AND created_at::date BETWEEN :start AND :end"
    ).bindparams(bindparam("statuses", expanding=True)), {
        "c": query.community_id, "statuses": list(CONCERN_STATUSES),
        "start": query.start, "end": query.end}).all()  # fmt: skip
    if not rows:
        return np.zeros(len(keys), dtype=np.int64)
    lon, lat = (np.array(v, dtype=float) for v in zip(*rows, strict=True))
    x, y = to_metric.transform(lon, lat)
    cell = _cell_index(keys, *hex_cells(np.asarray(x), np.asarray(y), size))
    return np.bincount(cell[cell >= 0], minlength=len(keys))


def clusters(result: Hotspots, level: int = 2) -> list[Sequence[int]]:
    """Groups of touching hot cells (Gi_Bin >= `level`), largest first, as cell positions.

    What the summary calls "a hot spot" is such a group, not a single cell.
    """
    hot = np.flatnonzero(result.gi_bin >= level)
    if not len(hot):
        return []
    position = {(int(result.i[k]), int(result.j[k])): k for k in hot}
    seen: set[int] = set()
    groups: list[list[int]] = []
    for start in hot.tolist():
        if start in seen:
            continue
        stack, group = [start], []
        seen.add(start)
        while stack:
            k = stack.pop()
            group.append(k)
            for other in _neighbours(int(result.i[k]), int(result.j[k])):
                m = position.get(other)
                if m is not None and m not in seen:
                    seen.add(m)
                    stack.append(m)
        groups.append(sorted(group))
    return sorted(groups, key=len, reverse=True)


def _neighbours(i: int, j: int) -> list[tuple[int, int]]:
    """The six cells around (i, j) in `ST_Hexagon`'s offset layout (odd columns up)."""
    if i & 1:
        return [(i, j + 1), (i, j - 1), (i - 1, j), (i - 1, j + 1), (i + 1, j), (i + 1, j + 1)]
    return [(i, j + 1), (i, j - 1), (i - 1, j - 1), (i - 1, j), (i + 1, j - 1), (i + 1, j)]
