"""Counting incidents per hexagonal cell, group and month: geoapp's binning against geopandas."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.bench_incidents import (
    SECRET,
    Community,
    Synthetic,
    pilot_database,
    synthetic_incidents,
)
from bench.common import Outcome, Row, data_dir, log, timed
from geoapp.analysis.hexgrid import count_by_cell
from geoapp.models.incident import ImportBatch
from geoapp.services import incident_cells
from geoapp.services.incident_groups import group_of_article, known_articles, normalise_article
from geoapp.services.incidents import CellPolicy, ref_hash

NAME = "cells"
GOAL = 5.0  # geopandas time / geoapp time
ROWS = 1_000_000
SIZE = 500
WARM_UP = 10_000
POINTS_QUERY = """
SELECT i.category_id, i.occurred_on, ST_X(p.geom) AS x, ST_Y(p.geom) AS y
FROM incident i
JOIN community c ON c.id = i.community_id
CROSS JOIN LATERAL (SELECT ST_Transform(i.point, c.metric_srid) AS geom) p
WHERE i.community_id = :c
ORDER BY i.id
"""
HEXAGONS_QUERY = """
SELECT h.i, h.j, ST_AsBinary(h.geom) AS wkb
FROM community c
CROSS JOIN LATERAL ST_HexagonGrid(:size, ST_Envelope(ST_Transform(c.geom, c.metric_srid))) h
WHERE c.id = :c
"""

Key = tuple[int, int, int, date]  # (i, j, category, month)


def load_incidents(engine: Engine, place: Community, data: Synthetic) -> int:
    """COPY the incidents into `incident` as one batch (untimed set-up), then ANALYZE.

    Articles and groups are resolved as the importer does; points are the CSV's
    6-decimal lon/lat, so this table holds what the incidents benchmark imports.
    """
    known = known_articles(str(data_dir()))
    with Session(engine) as session:
        normalised = {a: normalise_article(a, known) for a in np.unique(data.article)}
        groups = {a: group_of_article(session, n, known[n])
                  for a, n in normalised.items() if n is not None}  # fmt: skip
        batch = ImportBatch(community_id=place.id, file_name="bench-cells", sha256="-",
                            profile="bench", accepted=len(data), rejected=0,
                            actor="bench")  # fmt: skip
        session.add(batch)
        session.flush()
        conn = session.connection().connection.dbapi_connection
        assert conn is not None
        columns = "community_id, category_id, article, occurred_on, point, ref_hash, batch_id"
        days = data.occurred_on.tolist()
        with conn.cursor() as cur, cur.copy(f"COPY incident ({columns}) FROM STDIN") as copy:
            for k in range(len(data)):
                article = str(data.article[k])
                copy.write_row((place.id, groups[article], normalised[article], days[k],
                                f"SRID=4326;POINT({data.lon_text[k]} {data.lat_text[k]})",
                                ref_hash(SECRET, place.id, f"B{k:07d}"), batch.id))  # fmt: skip
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) incident, import_batch"))
    return len(data)


def geoapp_counts(frames: Frames) -> np.ndarray:
    """Geoapp's counting (`geoapp.analysis.hexgrid.count_by_cell`) on the anchor's inputs.

    The same projected points, groups and dates geopandas gets; returns (size, i, j, group,
    year, month, n) rows.  The app calls the same function with groups and months folded
    (cells per year when it rebuilds, cells of one period and group when an analyst asks).
    """
    points = frames.points
    month = points["occurred_on"].to_numpy().astype("datetime64[M]").astype(np.int64)
    return count_by_cell(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(),
                         points["category_id"].to_numpy(), month, [SIZE])  # fmt: skip


def as_keys(rows: np.ndarray) -> dict[Key, int]:
    """Geoapp's rows keyed like the anchor's counts."""
    return {(int(i), int(j), int(c), date(int(y), int(m), 1)): int(n)
            for _s, i, j, c, y, m, n in rows.tolist()}  # fmt: skip


@dataclass
class Frames:
    """The anchor's inputs, in memory: the points and the hexagons, both in the UTM CRS."""

    points: gpd.GeoDataFrame
    hexagons: gpd.GeoDataFrame


def read_frames(engine: Engine, place: Community) -> Frames:
    """Read the incidents (projected by PostGIS) and the ST_HexagonGrid hexagons, untimed."""
    crs = f"EPSG:{place.metric_srid}"
    with engine.connect() as conn:
        rows = conn.execute(text(POINTS_QUERY), {"c": place.id}).all()
        hexes = conn.execute(text(HEXAGONS_QUERY), {"c": place.id, "size": SIZE}).all()
    category, occurred, x, y = zip(*rows, strict=True)
    points = gpd.GeoDataFrame(
        {
            "category_id": np.asarray(category, dtype=np.int64),
            "occurred_on": np.asarray(occurred, dtype="datetime64[D]").astype("datetime64[s]"),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=crs,
    )
    i, j, wkb = zip(*hexes, strict=True)
    hexagons = gpd.GeoDataFrame(
        {"i": np.asarray(i, dtype=np.int64), "j": np.asarray(j, dtype=np.int64)},
        geometry=shapely.from_wkb([bytes(w) for w in wkb]),
        crs=crs,
    )
    return Frames(points=points, hexagons=hexagons)


def geopandas_counts(frames: Frames) -> tuple[pd.Series, int]:
    """sjoin(points, hexagons, within), then the size of each (i, j, category, month) group.

    Returns the counts and the number of joined rows (a point on a shared edge would
    join twice, a point in no hexagon not at all).
    """
    joined = gpd.sjoin(frames.points, frames.hexagons, predicate="within")
    month = joined["occurred_on"].to_numpy().astype("datetime64[M]")
    counts = joined.groupby([joined["i"], joined["j"], joined["category_id"], month]).size()
    return counts, len(joined)


def as_dict(counts: pd.Series) -> dict[Key, int]:
    """The geopandas counts keyed like geoapp's rows."""
    out: dict[Key, int] = {}
    for (i, j, category, month), n in counts.items():
        out[(int(i), int(j), int(category), pd.Timestamp(month).date())] = int(n)
    return out


@dataclass
class Disagreement:
    """How two count tables differ."""

    keys_only_geoapp: int
    keys_only_geopandas: int
    keys_different: int
    incidents_off: int  # sum of |difference| over all keys


def compare(a: dict[Key, int], b: dict[Key, int]) -> Disagreement:
    """Key by key comparison of geoapp's (`a`) and geopandas' (`b`) counts."""
    off = sum(abs(a.get(key, 0) - b.get(key, 0)) for key in a.keys() | b.keys())
    return Disagreement(
        keys_only_geoapp=len(a.keys() - b.keys()),
        keys_only_geopandas=len(b.keys() - a.keys()),
        keys_different=sum(1 for key in a.keys() & b.keys() if a[key] != b[key]),
        incidents_off=off,
    )


@dataclass
class Rebuild:
    """The full rebuild, timed, or why it failed."""

    seconds: float | None
    rows: int
    error: str | None


def full_rebuild(engine: Engine, community_id: int) -> Rebuild:
    """incident_cells.rebuild for all sizes with the default policy, in a rolled-back session."""
    policy = CellPolicy()
    with Session(engine) as session:
        try:
            with timed() as rebuild_time:
                written = incident_cells.rebuild(
                    session, community_id, policy.k, policy.public_sizes
                )
        except Exception as exc:  # reported in the notes rather than ending the run
            session.rollback()
            return Rebuild(None, 0, f"{type(exc).__name__}: {str(exc)[:200]}")
        session.rollback()
    return Rebuild(rebuild_time.seconds, written, None)


def warm_up(frames: Frames) -> None:
    """One untimed run of each on a slice (imports, caches)."""
    geoapp_counts(Frames(points=frames.points.iloc[:WARM_UP], hexagons=frames.hexagons))
    small = Frames(points=frames.points.iloc[:WARM_UP], hexagons=frames.hexagons)
    geopandas_counts(small)


def run(rows: int = ROWS) -> Outcome:
    """Load the incidents (untimed), then time geoapp's count query and the geopandas join."""
    with tempfile.TemporaryDirectory(prefix="bench-cells-") as tmp:
        scratch, place = pilot_database(NAME, Path(tmp))
    engine = scratch.engine
    data = synthetic_incidents(place, rows)
    load_incidents(engine, place, data)
    frames = read_frames(engine, place)
    log(f"[{NAME}] {len(frames.points):,} incidents in {place.slug}, "
        f"{len(frames.hexagons):,} hexagons of {SIZE} m (untimed)")  # fmt: skip
    warm_up(frames)

    with timed() as geoapp_time:
        counted = geoapp_counts(frames)
    ours = as_keys(counted)
    log(f"[{NAME}] geoapp count_by_cell: {geoapp_time.seconds:.3f} s, {len(ours):,} rows")
    with timed() as gpd_time:
        counts, joined = geopandas_counts(frames)
    log(f"[{NAME}] geopandas sjoin + groupby: {gpd_time.seconds:.2f} s, {len(counts):,} rows")

    theirs = as_dict(counts)
    diff = compare(ours, theirs)
    agree = diff.incidents_off == 0 and diff.keys_only_geoapp == diff.keys_only_geopandas == 0
    log(f"[{NAME}] counts agree: {agree} ({diff})")
    full = full_rebuild(engine, place.id)
    log(f"[{NAME}] full rebuild: {full.seconds} s ({full.error or 'ok'})")

    speed_up = gpd_time.seconds / geoapp_time.seconds
    table = [
        Row(
            benchmark=f"cells: {rows:,} incidents in {place.slug} to {SIZE} m cells × group "
            "× month, hexgrid.count_by_cell vs geopandas sjoin + groupby",
            geoapp_s=geoapp_time.seconds,
            anchor_s=gpd_time.seconds,
            ratio=f"{speed_up:.2f}× (geopandas / geoapp)",
            goal=f"≥ {GOAL:.0f}× and identical counts",
            met=speed_up >= GOAL and agree,
        ),
        Row(
            benchmark="cells: full incident_cells.rebuild (250/500/1000 m, suppression of "
            "500/1000 m)",
            geoapp_s=full.seconds,
            anchor_s=None,
            ratio="n/a" if full.seconds is None else f"{full.rows:,} rows written",
            goal="n/a",
            met=None,
        ),
    ]
    notes = _notes(place, data, frames, ours, theirs, diff, joined, full)
    engine.dispose()
    return Outcome(name=NAME, rows=table, notes=notes, url=scratch.url)


def _notes(
    place: Community,
    data: Synthetic,
    frames: Frames,
    ours: dict[Key, int],
    theirs: dict[Key, int],
    diff: Disagreement,
    joined: int,
    full: Rebuild,
) -> list[str]:
    n = len(frames.points)
    rebuild = (
        f"failed: {full.error}"
        if full.seconds is None
        else f"{full.seconds:.1f} s, {full.rows:,} rows"
    )
    return [
        f"data (untimed): the incidents benchmark's generator and rounding (seed, dates "
        f"2024-01-01 to {data.last_day}, national article weights, every point inside "
        f"{place.slug}), COPYed straight into `incident` as one batch, then VACUUM (ANALYZE)",
        f"geoapp: `geoapp.analysis.hexgrid.count_by_cell` with sizes [{SIZE}] on the same "
        f"in-memory inputs as geopandas (points in EPSG:{place.metric_srid}, group, month); "
        f"{len(ours):,} (cell, group, month) rows, {sum(ours.values()):,} incidents",
        f"geopandas: points (projected by PostGIS ST_Transform, read untimed) and "
        f"{len(frames.hexagons):,} hexagons from `ST_HexagonGrid({SIZE}, ST_Envelope("
        f"ST_Transform(geom, EPSG:{place.metric_srid})))` (read untimed) as GeoDataFrames; "
        f"timed: `gpd.sjoin(points, hexagons, predicate='within')`, the month of each date "
        f"(numpy datetime64[M]) and `groupby([i, j, category_id, month]).size()`; "
        f"{len(theirs):,} rows, {joined:,} joined points of {n:,}",
        f"warm-up, untimed: both on the first {WARM_UP:,} points",
        f"agreement: {diff.keys_only_geoapp} keys only in geoapp, {diff.keys_only_geopandas} "
        f"only in geopandas, {diff.keys_different} with different counts; "
        f"{diff.incidents_off} incidents counted differently in all",
        f"full rebuild (for information; `incident_cells.rebuild(session, bucha, k=10, "
        f"public_sizes=(500, 1000))`, rolled back: the incidents read back, projected, counted "
        f"per cell and year at 250, 500 and 1000 m with the public sizes' suppression, and the "
        f"community's totals per month, quarter, year and group, written): {rebuild}",
    ]
