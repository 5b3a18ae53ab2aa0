"""Assigning random points in Ukraine's bbox to hromadas: geoapp against a naive join."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from psycopg.errors import QueryCanceled
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bench.common import (
    Outcome,
    Row,
    boundary_files,
    load_folder,
    log,
    scratch_database,
    timed,
)
from geoapp import sql
from geoapp.models.community import CommunityLevel
from geoapp.services.locate import assign_points

NAME = "assign"
GOAL = 5.0  # naive time / geoapp time
POINTS = 1_000_000
SEED = 42
LON = (22.1, 40.2)
LAT = (44.3, 52.4)
WARM_UP = 10_000
SAMPLE = 100_000
NAIVE_TIMEOUT_S = 15 * 60
NAIVE_TABLE = "bench_points"
NAIVE_JOIN = f"""
SELECT p.idx, c.id
FROM {NAIVE_TABLE} p
JOIN community c ON c.level = 'hromada' AND ST_Contains(c.geom, p.geom)
"""


def random_points(n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` points uniform in Ukraine's bounding box, from numpy's default_rng(42)."""
    rng = np.random.default_rng(SEED)
    lon = rng.uniform(LON[0], LON[1], n)
    lat = rng.uniform(LAT[0], LAT[1], n)
    return lon, lat


def copy_points(session: Session, table: str, lon: np.ndarray, lat: np.ndarray) -> None:
    """COPY the points into `table (idx, geom)` as geoapp's assign_points does."""
    buf = io.StringIO()
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        buf.write(f"{i}\tSRID=4326;POINT({x!r} {y!r})\n")
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table} (idx, geom) FROM STDIN") as copy:
        copy.write(buf.getvalue())


def stage_naive_points(session: Session, lon: np.ndarray, lat: np.ndarray) -> None:
    """Create the naive join's point table in the session's transaction, indexed and analyzed."""
    session.execute(text(f"CREATE TABLE {NAIVE_TABLE} (idx integer, geom geometry(Point, 4326))"))
    copy_points(session, NAIVE_TABLE, lon, lat)
    session.execute(text(f"CREATE INDEX ON {NAIVE_TABLE} USING gist (geom)"))
    session.execute(text(f"ANALYZE {NAIVE_TABLE}"))


@dataclass
class NaiveRun:
    """The naive join's answer and where its time went."""

    ids: np.ndarray
    stage_s: float
    join_s: float
    multiple: int  # points inside more than one hromada


def naive_assign(
    engine: Engine, lon: np.ndarray, lat: np.ndarray, timeout_s: float | None = None
) -> NaiveRun:
    """Hromada id of each point (-1 where none) by a plain join over the whole polygons.

    Everything happens in one transaction that is rolled back, so the point
    table does not outlive the call.  A point in two hromadas gets the lowest
    id, as in geoapp.  Raises QueryCanceled when the join exceeds `timeout_s`.
    """
    n = len(lon)
    with Session(engine) as session:
        try:
            with timed() as stage:
                stage_naive_points(session, lon, lat)
            if timeout_s is not None:
                session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
            with timed() as join:
                best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
                hits = np.zeros(n, dtype=np.int64)
                idx_list: list[int] = []
                id_list: list[int] = []
                for idx, community_id in session.execute(text(NAIVE_JOIN)):
                    idx_list.append(idx)
                    id_list.append(community_id)
                idx_arr = np.asarray(idx_list, dtype=np.int64)
                id_arr = np.asarray(id_list, dtype=np.int64)
                np.minimum.at(best, idx_arr, id_arr)
                np.add.at(hits, idx_arr, 1)
                ids = np.where(hits > 0, best, -1)
        finally:
            session.rollback()
    return NaiveRun(
        ids=ids, stage_s=stage.seconds, join_s=join.seconds, multiple=int((hits > 1).sum())
    )


def geoapp_assign(engine: Engine, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Run geoapp's assign_points in a session of its own (its temporary table dies with it)."""
    with Session(engine) as session:
        try:
            return assign_points(session, lon, lat, CommunityLevel.HROMADA)
        finally:
            session.rollback()


def explain_both(engine: Engine, lon: np.ndarray, lat: np.ndarray) -> dict[str, list[str]]:
    """EXPLAIN ANALYZE of geoapp's assign query and of the naive join on the same points."""
    plans: dict[str, list[str]] = {}
    with Session(engine) as session:
        try:
            session.execute(
                text(
                    "CREATE TEMP TABLE assign_points "
                    "(idx integer, geom geometry(Point, 4326)) ON COMMIT DROP"
                )
            )
            copy_points(session, "assign_points", lon, lat)
            session.execute(text("CREATE INDEX ON assign_points USING gist (geom)"))
            session.execute(text("ANALYZE assign_points"))
            raw = session.connection().connection.dbapi_connection
            with raw.cursor() as cur:  # the query takes psycopg placeholders, as geoapp runs it
                cur.execute(
                    "EXPLAIN (ANALYZE, BUFFERS)\n" + sql.raw("assign_points"),
                    {"level": CommunityLevel.HROMADA.value},
                )
                plans["geoapp"] = [row[0] for row in cur.fetchall()]
            stage_naive_points(session, lon, lat)
            query = "EXPLAIN (ANALYZE, BUFFERS)\n" + NAIVE_JOIN
            plans["naive"] = list(session.execute(text(query)).scalars())
        finally:
            session.rollback()
    return plans


def run(points: int = POINTS) -> Outcome:
    """Load the boundaries (untimed), then time geoapp and the naive join on the same points."""
    scratch = scratch_database(NAME)
    engine = scratch.engine
    files = boundary_files()
    log(f"[{NAME}] loading {len(files)} boundary files into {scratch.url.database} (untimed)")
    totals = load_folder(engine, files)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE community"))
        conn.execute(text("ANALYZE community_part"))
        hromadas = conn.scalar(
            text("SELECT count(*) FROM community WHERE level = 'hromada' AND geom IS NOT NULL")
        )
        parts = conn.scalar(text("SELECT count(*) FROM community_part"))

    lon, lat = random_points(points)
    warm = min(WARM_UP, points)
    geoapp_assign(engine, lon[:warm], lat[:warm])
    naive_assign(engine, lon[:warm], lat[:warm])
    log(f"[{NAME}] {points:,} points; warm-up on {warm:,} done")

    with timed() as geoapp_time:
        geoapp_ids = geoapp_assign(engine, lon, lat)
    log(f"[{NAME}] geoapp assign_points: {geoapp_time.seconds:.1f} s")

    notes: list[str] = []
    sample: int | None = None
    try:
        with timed() as naive_time:
            naive = naive_assign(engine, lon, lat, NAIVE_TIMEOUT_S)
    except OperationalError as exc:
        if not isinstance(exc.orig, QueryCanceled):
            raise
        sample = min(SAMPLE, points)
        log(f"[{NAME}] naive join over {points:,} points passed {NAIVE_TIMEOUT_S} s; sampling")
        notes.append(
            f"the naive join over all {points:,} points was cancelled after "
            f"{NAIVE_TIMEOUT_S / 60:.0f} minutes; the comparison uses the first {sample:,} points"
        )
    if sample is not None:
        full_geoapp_s = geoapp_time.seconds
        lon, lat = lon[:sample], lat[:sample]
        with timed() as geoapp_time:
            geoapp_ids = geoapp_assign(engine, lon, lat)
        with timed() as naive_time:
            naive = naive_assign(engine, lon, lat)
    log(f"[{NAME}] naive join: {naive_time.seconds:.1f} s")

    compared = len(lon)
    differ = geoapp_ids != naive.ids
    only_geoapp = int((differ & (naive.ids < 0)).sum())
    only_naive = int((differ & (geoapp_ids < 0)).sum())
    both = int(differ.sum()) - only_geoapp - only_naive
    speed_up = naive_time.seconds / geoapp_time.seconds
    rows = [
        Row(
            benchmark=f"assign: {compared:,} random points to hromadas, assign_points "
            "vs naive join",
            geoapp_s=geoapp_time.seconds,
            anchor_s=naive_time.seconds,
            ratio=f"{speed_up:.2f}× (naive / geoapp)",
            goal=f"≥ {GOAL:.0f}×",
            met=speed_up >= GOAL,
        )
    ]
    if sample is not None:
        rows.append(
            Row(
                benchmark=f"assign: all {points:,} points, assign_points only",
                geoapp_s=full_geoapp_s,
                anchor_s=None,
                ratio="n/a",
                goal="n/a",
                met=None,
            )
        )
    notes += [
        f"boundaries loaded untimed: {totals.loaded} features from {totals.files} files; "
        f"{hromadas} hromadas with a polygon, cut into a community_part table of {parts} pieces "
        "(all levels)",
        f"points inside a hromada: geoapp {int((geoapp_ids >= 0).sum()):,}, "
        f"naive {int((naive.ids >= 0).sum()):,} of {compared:,}; "
        f"{naive.multiple} points inside two or more hromadas by the naive join",
        f"disagreements: {int(differ.sum())} points ({both} assigned to different hromadas, "
        f"{only_geoapp} only by geoapp, {only_naive} only by the naive join)",
        f"naive join breakdown: points COPY + GiST index + ANALYZE {naive.stage_s:.1f} s, "
        f"join and result array {naive.join_s:.1f} s",
    ]
    if speed_up < GOAL:
        log(f"[{NAME}] goal missed; EXPLAIN ANALYZE of both queries on the same points:")
        for which, plan in explain_both(engine, lon, lat).items():
            print(f"\n--- {which} ---\n" + "\n".join(plan), flush=True)
    engine.dispose()
    return Outcome(name=NAME, rows=rows, notes=notes, url=scratch.url)
