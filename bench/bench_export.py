r"""GeoJSON export of 1,000,000 concerns: geoapp's streamed export against ogr2ogr and psql.

Set-up (untimed): the incidents benchmark's synthetic points in Bucha are COPYed into
`incident`, then turned into 1,000,000 accepted concerns (public point snapped to a
0.001° grid, non-sensitive categories in turn).  Each contender runs in its own process
under `/usr/bin/time`, so the peak RSS is its own:

- geoapp: `bench.export_worker` asks the real endpoint
  (`/api/v1/communities/bucha/layers/concerns.geojson`) as the public and writes the
  streamed body to a file; time is request to last byte (app start-up excluded, reported
  apart); the audit event with the sha256 is part of it.
- ogr2ogr: `-f GeoJSON` from the same table with the same SELECT as geoapp's
  `export_concerns.sql` (same joins, same answer subquery), `-lco RFC7946=YES
  -lco COORDINATE_PRECISION=6`.
- psql (the floor): `\copy (SELECT ST_AsGeoJSON(t.*, 'geom', 6) FROM (same SELECT) t)`,
  one Feature per line, no FeatureCollection around them.

Ratio = geoapp / ogr2ogr (goal ≤ 1.0).  Memory goal: under 200 MB for the export, read as
the export's own growth of the process (peak RSS minus the RSS of the warmed app before
the request); the whole process's peak is recorded beside it, with the app at rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from bench.bench_cells import load_incidents
from bench.bench_incidents import pilot_database, synthetic_incidents
from bench.common import Outcome, Row, log
from geoapp.services.categories import sync_defaults

NAME = "export"
ROWS = 1_000_000
GOAL = 1.0
MEMORY_GOAL_MB = 200
MAKE_CONCERNS = """
INSERT INTO concern (public_id, tracking_token, short_code, client_token, community_id,
                     category_id, description, point, public_point, located_by, status,
                     created_at, updated_at)
SELECT gen_random_uuid()::text, md5(i.id::text || 'track'), substr(md5(i.id::text), 1, 8),
       'bench-' || i.id, i.community_id, cats.ids[1 + i.id % array_length(cats.ids, 1)],
       'private text', i.point, ST_SnapToGrid(i.point, 0.001), 'pin', 'accepted',
       CAST(i.occurred_on AS timestamp) AT TIME ZONE 'Europe/Kyiv', now()
FROM incident i,
     (SELECT array_agg(id ORDER BY id) AS ids FROM category
      WHERE domain = 'concern' AND NOT sensitive AND community_id IS NULL) cats
"""
ANCHOR_SELECT = """
SELECT cat.code AS category, cat.name_uk AS category_uk, cat.name_en AS category_en,
       c.status::text AS status,
       to_char(c.created_at AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM-DD') AS reported,
       (SELECT e.public_answer FROM concern_event e
        WHERE e.concern_id = c.id AND e.public_answer IS NOT NULL
        ORDER BY e.id DESC LIMIT 1) AS answer,
       c.public_point AS geom
FROM concern c JOIN category cat ON cat.id = c.category_id
WHERE c.community_id = {cid} AND c.status IN ('accepted', 'in_progress', 'resolved')
  AND NOT cat.sensitive AND c.public_point IS NOT NULL
ORDER BY c.id
"""


def _timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `args` under /usr/bin/time: (seconds, peak RSS in MB, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name, *args],
                              capture_output=True, text=True, env=env)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-2000:]}")
        elapsed, kb = Path(report.name).read_text().split()[-2:]
    return float(elapsed), int(kb) / 1024, done.stdout


def _pg(url: URL) -> str:
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"


def run(rows: int = ROWS) -> Outcome:
    """Make the concerns (untimed), then time geoapp, ogr2ogr and psql on them."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        scratch, place = pilot_database(NAME, Path(tmp))
    engine = scratch.engine
    load_incidents(engine, place, synthetic_incidents(place, rows))
    sync_defaults_session(engine)
    with engine.begin() as conn:
        conn.execute(text(MAKE_CONCERNS))
        conn.execute(text("TRUNCATE incident"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) concern"))
        n = conn.execute(text("SELECT count(*) FROM concern")).scalar_one()
    log(f"[{NAME}] {n:,} accepted concerns in {place.slug} (untimed)")
    url = scratch.url.render_as_string(hide_password=False)
    select = ANCHOR_SELECT.format(cid=place.id)
    with tempfile.TemporaryDirectory(prefix="bench-export-out-") as out:
        ours_file, ogr_file, psql_file = (Path(out) / f for f in ("g.geojson", "o.geojson",
                                                                  "p.jsonl"))  # fmt: skip
        wall, peak, printed = _timed([sys.executable, "-m", "bench.export_worker", url,
                                      place.slug, "concerns", str(ours_file)])  # fmt: skip
        ours = json.loads(printed.strip().splitlines()[-1])
        body = json.loads(ours_file.read_bytes())
        log(
            f"[{NAME}] geoapp: {ours['seconds']:.2f} s, {len(body['features']):,} features, "
            f"peak {peak:.0f} MB (before the export {ours['rss_before_mb']:.0f} MB)"
        )
        ogr_s, ogr_mb, _ = _timed(["ogr2ogr", "-f", "GeoJSON", str(ogr_file),
                                   f"PG:{_pg(scratch.url)}", "-sql", select, "-nln", "concerns",
                                   "-lco", "RFC7946=YES",
                                   "-lco", "COORDINATE_PRECISION=6"])  # fmt: skip
        ogr_n = len(json.loads(ogr_file.read_bytes())["features"])
        log(f"[{NAME}] ogr2ogr: {ogr_s:.2f} s, {ogr_n:,} features, peak {ogr_mb:.0f} MB")
        copy = (f"\\copy (SELECT ST_AsGeoJSON(t.*, 'geom', 6) FROM ({select}) t) "
                f"TO '{psql_file}'")  # fmt: skip
        psql_s, psql_mb, _ = _timed(["psql", "-X", "-q", "-h", str(scratch.url.host), "-p",
                                     str(scratch.url.port or 5432), "-U",
                                     str(scratch.url.username), "-d", str(scratch.url.database),
                                     "-c", copy], env={**os.environ})  # fmt: skip
        psql_n = sum(1 for _ in psql_file.open("rb"))
        log(f"[{NAME}] psql \\copy: {psql_s:.2f} s, {psql_n:,} lines, peak {psql_mb:.0f} MB")
        sizes = (ours_file.stat().st_size, ogr_file.stat().st_size, psql_file.stat().st_size)
    ratio = ours["seconds"] / ogr_s
    grown = peak - ours["rss_before_mb"]
    same = len(body["features"]) == ogr_n == psql_n == n
    table = [
        Row(benchmark=f"export: {n:,} concerns as GeoJSON, geoapp (streamed endpoint) vs "
            "ogr2ogr -f GeoJSON", geoapp_s=ours["seconds"], anchor_s=ogr_s,
            ratio=f"{ratio:.2f} (geoapp / ogr2ogr)", goal=f"≤ {GOAL} and same features",
            met=ratio <= GOAL and same),
        Row(benchmark="export: memory the export adds to the warmed app (peak RSS minus "
            "RSS before the request)", geoapp_s=None, anchor_s=None,
            ratio=f"{grown:.0f} MB", goal=f"< {MEMORY_GOAL_MB} MB", met=grown < MEMORY_GOAL_MB),
        Row(benchmark="export: peak RSS of the whole process, geoapp vs ogr2ogr",
            geoapp_s=None, anchor_s=None,
            ratio=f"geoapp {peak:.0f} MB (app at rest {ours['rss_before_mb']:.0f} MB), "
            f"ogr2ogr {ogr_mb:.0f} MB", goal=f"< {MEMORY_GOAL_MB} MB", met=peak < MEMORY_GOAL_MB),
        Row(benchmark="export: psql \\copy of ST_AsGeoJSON rows (the floor)", geoapp_s=None,
            anchor_s=psql_s, ratio=f"{ours['seconds'] / psql_s:.2f} (geoapp / psql)",
            goal="n/a", met=None),
    ]  # fmt: skip
    notes = [
        f"{n:,} accepted concerns in {place.slug}, made from the incidents benchmark's "
        "synthetic points (seed as there), public point snapped to 0.001°",
        f"geoapp: request to last byte {ours['seconds']:.2f} s (process wall time with app "
        f"start-up {wall:.2f} s); peak RSS {peak:.0f} MB, of which {ours['rss_before_mb']:.0f}"
        " MB before the request (interpreter, Flask, SQLAlchemy, numpy, pandas, folium imported)",
        f"output sizes: geoapp {sizes[0] / 1e6:.0f} MB (with ids and metadata), ogr2ogr "
        f"{sizes[1] / 1e6:.0f} MB, psql {sizes[2] / 1e6:.0f} MB; features "
        f"{len(body['features']):,} / {ogr_n:,} / {psql_n:,}",
        f"peak memory: ogr2ogr {ogr_mb:.0f} MB, psql {psql_mb:.0f} MB",
    ]
    engine.dispose()
    return Outcome(name=NAME, rows=table, notes=notes, url=scratch.url)


def sync_defaults_session(engine) -> None:  # type: ignore[no-untyped-def]
    """The default concern categories (what `geoapp db upgrade` syncs)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        sync_defaults(session)
        session.commit()
