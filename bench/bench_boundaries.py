"""Loading the whole ukraine-osm folder: geoapp's loader against an ogr2ogr shell loop."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from bench.common import (
    Outcome,
    Row,
    boundary_files,
    load_folder,
    log,
    scratch_database,
    timed,
    warm_file_cache,
)
from geoapp.geo import gdal_safety
from geoapp.geo.katotth import load_codifier

NAME = "boundaries"
GOAL = 1.0  # geoapp time / ogr2ogr time
OGR_TABLE = "ogr_boundaries"
OGR_CREATE = f"""
CREATE TABLE {OGR_TABLE} (
    ogc_fid serial PRIMARY KEY,
    "@id" varchar,
    katotth varchar,
    name varchar,
    "name:uk" varchar,
    "name:en" varchar,
    admin_level varchar,
    wkb_geometry geometry(Geometry, 4326)
)
"""
OGR_INDEX = f"CREATE INDEX {OGR_TABLE}_geom_idx ON {OGR_TABLE} USING gist (wkb_geometry)"
OGR_COUNTS = f"""
SELECT count(*) AS features,
       count(*) FILTER (WHERE polygonal) AS polygons,
       count(*) FILTER (WHERE polygonal AND katotth IS NOT NULL) AS coded_polygons,
       count(*) FILTER (WHERE GeometryType(wkb_geometry) = 'POINT') AS points,
       count(*) FILTER (WHERE GeometryType(wkb_geometry) = 'LINESTRING') AS lines
FROM (
    SELECT katotth, wkb_geometry,
           GeometryType(wkb_geometry) IN ('POLYGON', 'MULTIPOLYGON') AS polygonal
    FROM {OGR_TABLE}
) f
"""


def pg_target(url: URL) -> str:
    """The `PG:` data source string ogr2ogr needs for the database of `url`."""
    parts = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    return "PG:" + " ".join(f"{key}={value}" for key, value in parts.items() if value)


@dataclass
class OgrTotals:
    """What the ogr2ogr loop did: files tried and the first error line of each failure."""

    files: int = 0
    failures: list[str] = field(default_factory=list)


def ogr2ogr_folder(url: URL, files: list[Path]) -> OgrTotals:
    """Run one `ogr2ogr -f PostgreSQL ... -nln ogr_boundaries -append` per file, in order."""
    target = pg_target(url)
    totals = OgrTotals()
    for path in files:
        proc = subprocess.run(
            ["ogr2ogr", "-f", "PostgreSQL", target, str(path), "-nln", OGR_TABLE, "-append"],
            env=gdal_safety.trusted_tool_environment(),  # all of GDAL, as a user runs it
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        totals.files += 1
        if proc.returncode != 0:
            errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
            first = errors[0] if errors else f"exit status {proc.returncode}"
            totals.failures.append(f"{path.name}: {first[:160]}")
    return totals


def communities_by_level(engine: Engine) -> dict[str, int]:
    """Rows of the community table per level."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT level::text, count(*) FROM community GROUP BY 1 ORDER BY 1")
        )
        return {level: count for level, count in rows}


def run() -> Outcome:
    """Time geoapp's first and second load of the folder, then the ogr2ogr loop."""
    scratch = scratch_database(NAME)
    engine = scratch.engine
    files = boundary_files()
    size = warm_file_cache(files)
    log(f"[{NAME}] {len(files)} files, {size / 1e6:.1f} MB, into {scratch.url.database}")

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE community CASCADE"))
    load_codifier.cache_clear()
    with timed() as first_time:
        first = load_folder(engine, files)
    levels = communities_by_level(engine)
    log(f"[{NAME}] geoapp first load: {first_time.seconds:.1f} s, {first.loaded} loaded")

    with timed() as second_time:
        second = load_folder(engine, files)
    log(f"[{NAME}] geoapp second load: {second_time.seconds:.1f} s")

    with engine.begin() as conn:
        conn.execute(text(OGR_CREATE))
        conn.execute(text(OGR_INDEX))
    with timed() as ogr_time:
        ogr = ogr2ogr_folder(scratch.url, files)
    with engine.connect() as conn:
        counts = conn.execute(text(OGR_COUNTS)).one()
    log(f"[{NAME}] ogr2ogr loop: {ogr_time.seconds:.1f} s, {counts.features} features")

    ratio = first_time.seconds / ogr_time.seconds
    rows = [
        Row(
            benchmark=f"boundaries: load ukraine-osm ({len(files)} files), first load "
            "vs ogr2ogr loop",
            geoapp_s=first_time.seconds,
            anchor_s=ogr_time.seconds,
            ratio=f"{ratio:.2f} (geoapp / ogr2ogr)",
            goal=f"≤ {GOAL:.1f}",
            met=ratio <= GOAL,
        ),
        Row(
            benchmark="boundaries: second (idempotent) geoapp load of the same files",
            geoapp_s=second_time.seconds,
            anchor_s=None,
            ratio="n/a",
            goal="n/a",
            met=None,
        ),
    ]
    repairs = ", ".join(f"{kind} × {n}" for kind, n in sorted(first.repairs.items())) or "none"
    refusals = ", ".join(f"{why} × {n}" for why, n in sorted(first.refusals.items())) or "none"
    failures = "; ".join(ogr.failures) or "none"
    notes = [
        f"geoapp first load: {first.files} files, {first.refused} refused ({refusals}); "
        f"{first.loaded} features loaded (new {first.inserted}, changed {first.updated}, "
        f"unchanged {first.unchanged}); {sum(first.repairs.values())} repairs ({repairs}); "
        f"{first.rejected} features rejected; {first.skipped} non-polygon features skipped",
        "community rows by level after the first load: "
        + (", ".join(f"{level} {n}" for level, n in levels.items()) or "none")
        + f" (total {sum(levels.values())})",
        f"geoapp second load: {second.loaded} features (new {second.inserted}, "
        f"changed {second.updated}, unchanged {second.unchanged}), {second.refused} files refused",
        f"ogr2ogr: {ogr.files} processes, {len(ogr.failures)} failed ({failures}); wrote "
        f"{counts.features} features: {counts.polygons} polygons (of which "
        f"{counts.coded_polygons} with a katotth), {counts.points} points, {counts.lines} lines",
    ]
    engine.dispose()
    return Outcome(name=NAME, rows=rows, notes=notes, url=scratch.url)
