"""Importing a CSV of synthetic incidents into Bucha: geoapp's import against ogr2ogr and COPY."""

from __future__ import annotations

import cProfile
import logging
import pstats
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from bench.bench_boundaries import pg_target
from bench.common import (
    BOUNDARY_FOLDER,
    Outcome,
    Row,
    Scratch,
    data_dir,
    log,
    scratch_database,
    timed,
)
from geoapp.analysis.synthetic import article_weights, generate
from geoapp.geo import gdal_safety
from geoapp.services import incident_cells, incidents
from geoapp.services.incident_files import MAX_BYTES
from geoapp.services.incident_groups import sync_groups
from geoapp.services.incidents import CellPolicy, import_file
from geoapp.services.pilot import load_pilot

NAME = "incidents"
GOAL = 1.0  # geoapp time / ogr2ogr time
ROUNDS = 3  # alternating runs of each contender; the medians are compared
ROWS = 1_000_000
SEED = 2024
SLUG = "bucha"
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2026, 12, 31)  # capped at yesterday: the importer refuses future dates
SECRET = "bench-incidents"
ACTOR = "bench"
CSV_HEADER = "date,article,lon,lat,ref"
OGR_TABLE = "ogr_incidents"
COPY_TABLE = "copy_incidents"
COPY_CREATE = f"""
CREATE TABLE {COPY_TABLE} (
    date date, article text, lon float8, lat float8, ref text,
    geom geometry(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
)
"""
PROFILE_TOP = 12
SUPPRESSION_LOGGER = "geoapp.analysis.suppression"


# --- set-up shared with bench_cells --------------------------------------------------------


@dataclass(frozen=True)
class Community:
    """The benchmark's community: id, boundary (EPSG:4326) and metric CRS."""

    id: int
    slug: str
    geom: shapely.Geometry
    metric_srid: int


def pilot_database(name: str, workdir: Path) -> tuple[Scratch, Community]:
    """A scratch database with the pilot communities and the incident groups, analyzed."""
    scratch = scratch_database(name)
    with Session(scratch.engine) as session:
        load_pilot(session, str(data_dir() / BOUNDARY_FOLDER), workdir / "cache")
        session.commit()
        sync_groups(session)
    with scratch.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) community, community_part, category"))
        row = conn.execute(
            text("SELECT id, ST_AsBinary(geom), metric_srid FROM community WHERE slug = :s"),
            {"s": SLUG},
        ).one()
    place = Community(
        id=row[0], slug=SLUG, geom=shapely.from_wkb(bytes(row[1])), metric_srid=row[2]
    )
    return scratch, place


@dataclass(frozen=True)
class Synthetic:
    """Synthetic incidents as the CSV writes them: coordinates rounded to 6 decimals."""

    lon: np.ndarray  # float64, exactly the value of the 6-decimal text
    lat: np.ndarray
    lon_text: np.ndarray  # str
    lat_text: np.ndarray
    occurred_on: np.ndarray  # datetime64[D]
    article: np.ndarray  # object (str)
    drawn: int  # incidents generated, of which the first `len` inside after rounding are kept
    last_day: date

    def __len__(self) -> int:
        """The number of incidents kept."""
        return int(self.lon.shape[0])


def synthetic_incidents(place: Community, n: int) -> Synthetic:
    """`n` incidents from geoapp's generator (fixed seed), every one inside the community.

    The generator draws in the metric CRS; after projecting back to lon/lat and rounding
    to 6 decimals (about 0.1 m) a point near the boundary can fall outside, so a few more
    are drawn and only those still inside (shapely `contains_xy` on the stored boundary)
    are kept, the first `n` of them.
    """
    to_metric = Transformer.from_crs(4326, place.metric_srid, always_xy=True)
    metric = shapely.transform(place.geom, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
    last_day = min(LAST_DAY, date.today() - timedelta(days=1))
    spare = n + n // 100 + 100
    drawn = generate(
        metric,
        spare,
        weights=article_weights(data_dir()),
        seed=SEED,
        start=FIRST_DAY,
        end=last_day,
    )
    lon, lat = to_metric.transform(drawn.x, drawn.y, direction="INVERSE")
    lon_text = np.char.mod("%.6f", lon)
    lat_text = np.char.mod("%.6f", lat)
    lon, lat = lon_text.astype(np.float64), lat_text.astype(np.float64)
    inside = np.flatnonzero(shapely.contains_xy(place.geom, lon, lat))
    if len(inside) < n:
        raise RuntimeError(f"only {len(inside):,} of {spare:,} drawn incidents stay inside")
    keep = inside[:n]
    return Synthetic(
        lon=lon[keep], lat=lat[keep], lon_text=lon_text[keep], lat_text=lat_text[keep],
        occurred_on=drawn.occurred_on[keep], article=drawn.article[keep], drawn=spare,
        last_day=last_day,
    )  # fmt: skip


def write_csv(path: Path, data: Synthetic) -> int:
    """Write the default profile's CSV (date,article,lon,lat,ref); return its size in bytes."""
    days = np.datetime_as_string(data.occurred_on, unit="D").tolist()
    refs = [f"B{k:07d}" for k in range(len(data))]
    columns = (days, data.article.tolist(), data.lon_text.tolist(), data.lat_text.tolist(), refs)
    body = "\n".join(map(",".join, zip(*columns, strict=True)))
    path.write_text(f"{CSV_HEADER}\n{body}\n", encoding="utf-8")
    return path.stat().st_size


def checkpoint(engine: Engine) -> None:
    """Flush dirty buffers so that no contender pays for the previous one's writes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


# --- geoapp, instrumented from outside ------------------------------------------------------


@dataclass
class Marks:
    """Clock readings taken inside one import_file call by wrappers around its callees."""

    at: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def span(self, start: str, end: str) -> float:
        """Seconds between two marks."""
        return self.at[end] - self.at[start]


# The callees clocked: (module, attribute, mark name).
CLOCKED = (
    (incidents, "read_table", "read"),
    (incidents, "_load", "load"),
    (incidents, "copy_incidents", "copy"),
    (incident_cells, "cell_rows", "cells"),
    (incident_cells, "write_cells", "write_cells"),
)


@contextmanager
def instrumented() -> Iterator[Marks]:
    """Wrap read_table, the load, its COPY (a thread), the counting and its write with clocks.

    Warnings the suppression logs are collected in `Marks.warnings`.  Nothing in geoapp is
    edited: the wrappers replace module attributes for the duration of the block.
    """
    marks = Marks()

    def clocked(real: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            marks.at[f"{name}_start"] = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                marks.at[f"{name}_end"] = time.perf_counter()

        return wrapper

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            marks.warnings.append(record.getMessage())

    handler = Collect(logging.WARNING)
    suppression_log = logging.getLogger(SUPPRESSION_LOGGER)
    with ExitStack() as stack:
        suppression_log.addHandler(handler)
        stack.callback(suppression_log.removeHandler, handler)
        for module, attribute, name in CLOCKED:
            real = getattr(module, attribute)
            stack.enter_context(mock.patch.object(module, attribute, clocked(real, name)))
        yield marks


@dataclass
class GeoappRun:
    """One import_file call: its report numbers and where its time went."""

    seconds: float
    accepted: int
    rejected: int
    reasons: dict[str, int]
    phases: dict[str, float]
    warnings: list[str]


def clear_incidents(engine: Engine) -> None:
    """Empty the incident tables (untimed) so that every import starts from nothing."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE incident_cell, incident, import_batch"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) incident, incident_cell, import_batch"))


def geoapp_import(engine: Engine, place: Community, path: Path) -> GeoappRun:
    """Import the CSV with geoapp's import_file, end to end, with clocks on its phases."""
    with Session(engine) as session, instrumented() as marks:
        marks.at["start"] = time.perf_counter()
        report = import_file(
            session, path, place.id, secret=SECRET, data_dir=str(data_dir()), actor=ACTOR,
            cells=CellPolicy(),
        )  # fmt: skip
        marks.at["end"] = time.perf_counter()
    reasons: dict[str, int] = {}
    for _line, why in report.rejected:
        key = why.split("'")[0].strip()
        reasons[key] = reasons.get(key, 0) + 1
    phases = {
        "read_table (decode, header, pandas CSV parse, coordinates)": (
            marks.span("start", "read_end")
        ),
        "checks (file sha256, dates, articles, HMAC of ref, containment, existing refs)": (
            marks.span("read_end", "load_start")
        ),
        "existing points and the new ones as arrays": marks.span("load_start", "copy_start"),
        "in a thread: copy_incidents (binary COPY into incident, index builds, ANALYZE)": (
            marks.span("copy_start", "copy_end")
        ),
        "meanwhile: incident_cells.cell_rows (3 sizes, suppression)": (
            marks.span("cells_start", "cells_end")
        ),
        "waiting for the COPY after counting": max(0.0, marks.span("cells_end", "copy_end")),
        "write_cells (COPY of the kept cell rows, ANALYZE)": (
            marks.span("write_cells_start", "write_cells_end")
        ),
        "audit + COMMIT": marks.span("load_end", "end"),
    }
    return GeoappRun(
        seconds=marks.span("start", "end"), accepted=report.accepted,
        rejected=len(report.rejected), reasons=reasons, phases=phases, warnings=marks.warnings,
    )  # fmt: skip


def profile_import(engine: Engine, place: Community, path: Path) -> list[str]:
    """Profile a second import with cProfile (main thread: the COPY's thread shows as waiting).

    Returns the functions with the most own time, as note lines.
    """
    profiler = cProfile.Profile()
    with Session(engine) as session:
        profiler.enable()
        try:
            import_file(session, path, place.id, secret=SECRET, data_dir=str(data_dir()),
                        actor=ACTOR, cells=CellPolicy())  # fmt: skip
        finally:
            profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:PROFILE_TOP]
    lines = []
    for (file_name, line, function), (_cc, calls, own, cumulative, _callers) in ranked:
        where = "built-in" if file_name == "~" else f"{Path(file_name).name}:{line}"
        lines.append(
            f"{function} ({where}): own {own:.2f} s, cumulative {cumulative:.2f} s, {calls:,} calls"
        )
    return [f"profiled total {total:.1f} s (profiler overhead included)", *lines]


# --- anchors ---------------------------------------------------------------------------------


def ogr2ogr_import(url: URL, path: Path) -> None:
    """The brief's ogr2ogr command, into a table it creates (dropped beforehand, untimed)."""
    subprocess.run(
        [
            "ogr2ogr", "-f", "PostgreSQL", pg_target(url), str(path),
            "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat",
            "-a_srs", "EPSG:4326", "-nln", OGR_TABLE,
        ],
        check=True, capture_output=True, text=True,
        env=gdal_safety.trusted_tool_environment(),  # all of GDAL, as a user runs it
    )  # fmt: skip


def copy_import(engine: Engine, path: Path) -> None:
    """CREATE the plain table (generated point column) and COPY the CSV into it, one commit."""
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(COPY_CREATE)
            command = (
                f"COPY {COPY_TABLE} (date, article, lon, lat, ref) FROM STDIN "
                "(FORMAT csv, HEADER true)"
            )
            with cur.copy(command) as copy, path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)


def drop_table(engine: Engine, table: str) -> None:
    """Drop a contender's table so that it starts fresh."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


def count_points(engine: Engine, table: str, column: str) -> int:
    """Rows of `table` with a point."""
    with engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count({column}) FROM {table}")) or 0)


# --- the benchmark ---------------------------------------------------------------------------


def stored_matches(engine: Engine, data: Synthetic) -> str:
    """Check what geoapp stored against the data written: count, coordinates and days.

    Returns a note line; raises if the sums differ (the binary COPY is built by hand).
    """
    with engine.connect() as conn:
        count, lon, lat, days = conn.execute(
            text("SELECT count(*), sum(ST_X(point)), sum(ST_Y(point)), "
                 "sum(occurred_on - DATE '1970-01-01') FROM incident")
        ).one()  # fmt: skip
    want_days = int(data.occurred_on.astype("datetime64[D]").astype(np.int64).sum())
    if (count, int(days)) != (len(data), want_days) or (
        abs(lon - data.lon.sum()) > 1e-6 * len(data) or abs(lat - data.lat.sum()) > 1e-6 * len(data)
    ):
        raise RuntimeError(f"geoapp stored {count:,} rows with sums {lon}, {lat}, {days}; "
                           f"the CSV has {len(data):,} with {data.lon.sum()}, "
                           f"{data.lat.sum()}, {want_days}")  # fmt: skip
    return (f"geoapp's stored rows checked against the CSV after each import: {count:,} rows, "
            "the same sums of longitude, latitude (to 1e-6 per row) and days")  # fmt: skip


def run(rows: int = ROWS) -> Outcome:
    """Write the CSV (untimed), then time ogr2ogr, COPY and geoapp's import of it, in turns.

    Each contender runs ROUNDS times, alternating, and its median counts: on a shared
    two-core machine one run of either can be a quarter off.
    """
    with tempfile.TemporaryDirectory(prefix="bench-incidents-") as tmp:
        workdir = Path(tmp)
        scratch, place = pilot_database(NAME, workdir)
        engine = scratch.engine
        with timed() as made:
            data = synthetic_incidents(place, rows)
            path = workdir / "incidents.csv"
            size = write_csv(path, data)
        log(f"[{NAME}] {len(data):,} incidents in {place.slug}, CSV {size / 2**20:.1f} MiB "
            f"written in {made.seconds:.1f} s (untimed)")  # fmt: skip
        if size > MAX_BYTES:
            raise RuntimeError(f"{size:,} bytes is over the importer's {MAX_BYTES:,} limit")
        path.read_bytes()  # warm the OS file cache for all three

        ogr_times, copy_times, geo_runs = [], [], []
        for round_no in range(1, ROUNDS + 1):
            drop_table(engine, OGR_TABLE)
            checkpoint(engine)
            with timed() as ogr_time:
                ogr2ogr_import(scratch.url, path)
            ogr_rows = count_points(engine, OGR_TABLE, "wkb_geometry")
            ogr_times.append(ogr_time.seconds)
            drop_table(engine, OGR_TABLE)

            drop_table(engine, COPY_TABLE)
            checkpoint(engine)
            with timed() as copy_time:
                copy_import(engine, path)
            copy_rows = count_points(engine, COPY_TABLE, "geom")
            copy_times.append(copy_time.seconds)
            drop_table(engine, COPY_TABLE)

            clear_incidents(engine)
            checkpoint(engine)
            geo_runs.append(geoapp_import(engine, place, path))
            checked = stored_matches(engine, data)
            log(f"[{NAME}] round {round_no}: ogr2ogr {ogr_time.seconds:.1f} s ({ogr_rows:,} "
                f"rows), COPY {copy_time.seconds:.1f} s ({copy_rows:,}), geoapp "
                f"{geo_runs[-1].seconds:.1f} s ({geo_runs[-1].accepted:,} accepted, "
                f"{geo_runs[-1].rejected:,} rejected)")  # fmt: skip

        geo = sorted(geo_runs, key=lambda r: r.seconds)[len(geo_runs) // 2]
        ogr_s, copy_s = float(np.median(ogr_times)), float(np.median(copy_times))
        ratio = geo.seconds / ogr_s
        profile: list[str] = []
        if ratio > GOAL:
            log(f"[{NAME}] slower than ogr2ogr; profiling one more import (untimed)")
            clear_incidents(engine)
            profile = profile_import(engine, place, path)
            print("\n".join(["", "--- cProfile, top own time ---", *profile]), flush=True)

    rows_out = [
        Row(
            benchmark=f"incidents: {rows:,}-row CSV into {place.slug}, import_file vs ogr2ogr "
            f"(median of {ROUNDS} alternating rounds)",
            geoapp_s=geo.seconds,
            anchor_s=ogr_s,
            ratio=f"{ratio:.2f} (geoapp / ogr2ogr)",
            goal=f"≤ {GOAL:.1f}",
            met=ratio <= GOAL,
        ),
        Row(
            benchmark="incidents: the same CSV, import_file vs raw COPY (ceiling)",
            geoapp_s=geo.seconds,
            anchor_s=copy_s,
            ratio=f"{geo.seconds / copy_s:.2f} (geoapp / COPY)",
            goal="n/a",
            met=None,
        ),
    ]
    breakdown = "; ".join(f"{label} {s:.1f} s" for label, s in geo.phases.items())
    reasons = ", ".join(f"{why} {n:,}" for why, n in geo.reasons.items()) or "none"
    each = lambda times: ", ".join(f"{t:.1f}" for t in times)  # noqa: E731
    notes = [
        f"data (untimed): geoapp.analysis.synthetic.generate over {place.slug}'s boundary in "
        f"EPSG:{place.metric_srid}, seed {SEED}, {FIRST_DAY} to {data.last_day} (yesterday "
        "at most: the importer refuses future dates), national article weights; "
        f"{data.drawn:,} drawn, projected to lon/lat, written with 6 decimals, and the first "
        f"{len(data):,} still inside the stored boundary (shapely contains_xy) kept; "
        f"refs B0000000…; CSV {size:,} bytes (the importer refuses files over "
        f"{MAX_BYTES:,} bytes, so about 1.19 million rows of this shape is the most it takes)",
        "before each contender: its table dropped (incident tables truncated and vacuumed "
        "for geoapp), then CHECKPOINT; the CSV was read once beforehand to warm the file cache",
        f"every run in seconds: ogr2ogr {each(ogr_times)}; COPY {each(copy_times)}; geoapp "
        f"{each([r.seconds for r in geo_runs])}",
        f"geoapp: `import_file(session, csv, bucha, secret, data_dir, actor, "
        f"cells=CellPolicy())` (default profile, k 10, public sizes 500/1000 m) end to end: "
        f"read (pandas for CSV), validate column by column, containment (shapely) and "
        f"duplicate checks (the community is empty, so the references are hashed as they are "
        f"sent), one binary COPY into `incident` in runs of equal article length, each in "
        f"Z-order (the primary key, the unique (community_id, ref_hash), two more b-tree "
        f"indexes and a BRIN point index dropped before and built after it, and the reference "
        f"trigger replaced by one check of the distinct values, as `bulk_load` does when the "
        f"load is at least as large as the table), the cells counted meanwhile and written, "
        f"commit; accepted {geo.accepted:,}, rejected {geo.rejected:,} ({reasons})",
        checked,
        f"geoapp time by phase in the median run (clocks around its callees, app code "
        f"unchanged): {breakdown}; warnings logged by the suppression: {len(geo.warnings)}"
        + (f", e.g. '{geo.warnings[0]}'" if geo.warnings else ""),
        f"ogr2ogr: `ogr2ogr -f PostgreSQL PG:... incidents.csv -oo X_POSSIBLE_NAMES=lon -oo "
        f"Y_POSSIBLE_NAMES=lat -a_srs EPSG:4326 -nln {OGR_TABLE}` into a new table it creates "
        f"(serial key, varchar columns, lon/lat double, a point column with a GiST index; "
        f"GDAL's default COPY mode); no validation, "
        f"containment or duplicate check; {ogr_rows:,} rows with a point",
        f"raw COPY (ceiling): psycopg COPY of the file's bytes (FORMAT csv, HEADER) into a new "
        f"plain table (date date, article text, lon/lat float8, ref text) whose point is a "
        f"stored generated column `ST_SetSRID(ST_MakePoint(lon, lat), 4326)`, no index, "
        f"CREATE + COPY + commit timed; {copy_rows:,} rows with a point",
    ]
    if profile:
        notes.append("cProfile of one more geoapp import (main thread only: the COPY's thread "
                     "shows as waiting; overhead inflates per-call-heavy code): "
                     + "; ".join(profile))  # fmt: skip
    engine.dispose()
    return Outcome(name=NAME, rows=rows_out, notes=notes, url=scratch.url)
