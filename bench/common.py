"""Helpers shared by the benchmarks: settings, scratch databases, timing, results."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from geoapp import migrate
from geoapp.config import DEFAULT_DATABASE_URL, default_data_dir, normalise_database_url
from geoapp.db import check_postgis, make_engine
from geoapp.geo.katotth import load_codifier
from geoapp.services.boundaries import LoadReport, expand_paths, load_file

RESULTS = Path(__file__).with_name("RESULTS.md")
BOUNDARY_FOLDER = Path("boundaries") / "ukraine-osm"

HEADER = """\
# geoapp benchmarks

`python -m bench` (or `make bench`) runs every benchmark; `python -m bench NAME` runs one
(`boundaries`, `assign`, `geocode`). Every run appends a dated section below; the sections are
written by the benchmark code, not by hand (one marked section excepted).

## Method

- **Server and databases.** `DATABASE_URL` (default
  `postgresql+psycopg://postgres@127.0.0.1:5432/geoapp`) names the server. Each benchmark
  drops and recreates its own scratch database, `<database>_bench_<benchmark>`, then runs
  `geoapp.db.check_postgis` and `geoapp.migrate.upgrade` on it. The scratch databases are
  left in place after the run for inspection.
- **Times** are wall-clock seconds (`time.perf_counter`) of one run, client work included.
  The reference data files are read once beforehand so that both contenders start with a warm
  OS file cache. Nothing is averaged: each section is one measurement on a machine that may be
  shared, so each section records the load average at its start.
- **boundaries: loading the whole `ukraine-osm` folder.** geoapp: `TRUNCATE community
  CASCADE`, then `load_file` for each file of `expand_paths([folder])` in one session, exactly
  as `geoapp boundaries load` does (reading the codifier is inside the timed region). Anchor:
  one `ogr2ogr -f PostgreSQL PG:"host=... user=... dbname=..." FILE -nln ogr_boundaries
  -append` process per file, as a shell loop would. `ogr_boundaries` is created beforehand
  with the columns geoapp reads (`@id`, `katotth`, `name`, `name:uk`, `name:en`,
  `admin_level`) and a generic geometry column with a GiST index: left to ogr2ogr, the first
  file (`Ukraine.geojson`) would fix the columns (it has no `katotth`) and its MultiPolygon
  type, and later files' Polygon and Point features would fail. The two do not do the same
  work: ogr2ogr writes every feature as it is (admin-centre points and lines included);
  geoapp keeps polygons that have a KATOTTH code, repairs invalid ones, upserts by code and
  cuts each boundary into `community_part` pieces. Ratio = geoapp / ogr2ogr; goal ≤ 1.0.
  A second geoapp load of the same files (which must change nothing) is timed for
  information.
- **assign: 1,000,000 random points to hromadas.** The folder is first loaded with geoapp's
  loader (untimed), then `ANALYZE community, community_part` (the loader does not analyze;
  the server's autovacuum setting is recorded below). Points are uniform in lon 22.1–40.2,
  lat 44.3–52.4 from `numpy.random.default_rng(42)` (all longitudes, then all latitudes).
  geoapp: `assign_points(session, lon, lat, CommunityLevel.HROMADA)`, end to end (COPY into a
  temporary table, ANALYZE, lateral join against the subdivided `community_part`, result
  array). Anchor ("naive join"): the same points COPYed the same way into a plain table, a
  GiST index on it, ANALYZE, then `SELECT p.idx, c.id FROM pts p JOIN community c ON
  c.level = 'hromada' AND ST_Contains(c.geom, p.geom)` over the unsubdivided polygons and the
  result array (lowest id where a point falls in two hromadas, as geoapp does), also timed end
  to end; the join's own time is in the notes. Both first run once, untimed, on 10,000 of the
  points. Speed-up = naive / geoapp; goal ≥ 5. A disagreement is a point the two assign
  differently. Were the naive join to run over 15 minutes, both would be timed on the first
  100,000 points instead and the section would say so.
- **incidents: importing a 1,000,000-row CSV into Bucha hromada.** Set-up, untimed: the pilot
  communities (`load_pilot`) and the incident groups (`sync_groups`), then VACUUM (ANALYZE).
  The CSV (default profile: `date,article,lon,lat,ref`) is written once from
  `geoapp.analysis.synthetic.generate` over Bucha's boundary in its UTM zone, seed 2024, days
  from 2024-01-01 to 2026-12-31 but at most yesterday (the importer refuses future dates),
  national article weights (`article_weights`); the points are projected to lon/lat and
  written with 6 decimals, and of 1 % more drawn the first 1,000,000 still inside the stored
  boundary are kept, so every row is inside. The file is read once to warm the OS cache and
  a `CHECKPOINT` precedes each contender. ogr2ogr: `ogr2ogr -f PostgreSQL PG:... FILE -oo
  X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat -a_srs EPSG:4326 -nln ogr_incidents` into a
  table dropped beforehand (no validation, containment or duplicate check). COPY, the
  ceiling: in one transaction, `CREATE TABLE` with lon/lat `float8` columns and a stored
  generated point `ST_SetSRID(ST_MakePoint(lon, lat), 4326)` (no index), and a psycopg
  `COPY ... (FORMAT csv, HEADER)` of the file's bytes. geoapp: `import_file(session, FILE,
  bucha, secret, data_dir, actor, cells=CellPolicy())` into emptied incident tables, end to
  end (cell rebuild and commit included). Ratio = geoapp / ogr2ogr; goal ≤ 1.0; geoapp / COPY
  is for information. Three alternating rounds; the medians are compared, and geoapp's stored
  rows are checked against the CSV (count and sums of coordinates and days) after each import.
  The import's phases are clocked by wrappers put around `read_table`, `_load`,
  `copy_incidents` (which runs in a thread), `incident_cells.cell_rows` and `write_cells` for
  the call (no app code is changed); when the goal is missed one more import runs under
  cProfile and the functions with the most own time are listed in the notes.
- **cells: 1,000,000 incidents into 500 m hexagons × group × month.** The incidents of the
  `incidents` benchmark (same generator, seed and rounding) are COPYed straight into
  `incident`, groups resolved as the importer does, then VACUUM (ANALYZE). Both contenders
  get the same inputs already in memory (read untimed): the
  incidents as points in Bucha's UTM CRS (projected by PostGIS, so both see the same
  coordinates) with group and date, and the hexagons of `ST_HexagonGrid(500,
  ST_Envelope(ST_Transform(boundary, UTM)))` with their (i, j). geoapp, timed:
  `geoapp.analysis.hexgrid.count_by_cell(x, y, group, month, [500])`, the function the
  app counts cells with (by arithmetic; the app folds groups and months into years).
  Anchor, timed: `gpd.sjoin(points, hexagons, predicate="within")`, the month of each date
  and `groupby([i, j, group, month]).size()`.
  Each runs once untimed first on 10,000 points. The two tables are compared key by key.
  Speed-up = geopandas / geoapp; goal ≥ 5 with identical counts. The full
  `incident_cells.rebuild` (the incidents read back as one packed bytea, projection, cells per
  year at 250, 500 and 1000 m, suppression for the public 500 and 1000 m, k = 10, totals per
  period and group) is timed afterwards for information, in a transaction that is rolled back.
"""


def database_url() -> str:
    """The server to benchmark on: DATABASE_URL, or geoapp's default."""
    return normalise_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))


def data_dir() -> Path:
    """The reference data folder: GEOAPP_DATA_DIR, else geoapp's default."""
    return default_data_dir()


def log(message: str) -> None:
    """Print a progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Timer:
    """Seconds elapsed inside a `timed()` block, set when the block ends."""

    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """Measure the wall-clock time of the block."""
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start


@dataclass
class Scratch:
    """A freshly created, migrated scratch database."""

    url: URL
    engine: Engine
    postgis: str


def scratch_database(benchmark: str) -> Scratch:
    """Drop and recreate `<database>_bench_<benchmark>`, enable PostGIS and migrate it."""
    base = make_url(database_url())
    url = base.set(database=f"{base.database}_bench_{benchmark}")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()
    as_string = url.render_as_string(hide_password=False)
    engine = make_engine(as_string)
    postgis = check_postgis(engine)
    migrate.upgrade(as_string)
    return Scratch(url=url, engine=engine, postgis=postgis)


def boundary_files() -> list[Path]:
    """The files of the ukraine-osm folder, as geoapp's loader lists them."""
    return expand_paths([data_dir() / BOUNDARY_FOLDER])


def warm_file_cache(files: list[Path]) -> int:
    """Read every file once so that the timed loads start from the OS cache; return bytes."""
    return sum(len(path.read_bytes()) for path in files)


@dataclass
class LoadTotals:
    """The sum of geoapp's per-file load reports."""

    files: int = 0
    refused: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repairs: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    rejected: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def loaded(self) -> int:
        """Features now in the database from these files."""
        return self.inserted + self.updated + self.unchanged

    def add(self, report: LoadReport) -> None:
        """Count one file's report."""
        self.files += 1
        if report.error:
            self.refused += 1
            reason = report.error.split(": ", 1)[-1].split(" (", 1)[0]
            self.refusals[reason] += 1
        self.inserted += report.inserted
        self.updated += report.updated
        self.unchanged += report.unchanged
        self.repairs.update(report.repairs)
        self.skipped += sum(report.skipped.values())
        self.rejected += len(report.rejected)


def load_folder(engine: Engine, files: list[Path]) -> LoadTotals:
    """Load `files` with geoapp's loader, as `geoapp boundaries load FOLDER` does."""
    codifier = load_codifier(str(data_dir()))
    totals = LoadTotals()
    with Session(engine) as session:
        for path in files:
            totals.add(load_file(session, path, codifier))
    return totals


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    geoapp_s: float | None
    anchor_s: float | None
    ratio: str
    goal: str
    met: bool | None


@dataclass
class Outcome:
    """What one benchmark measured: table rows, notes, and the database it used."""

    name: str
    rows: list[Row]
    notes: list[str]
    url: URL


def seconds(value: float | None) -> str:
    """A duration for the table."""
    return "n/a" if value is None else f"{value:.2f} s"


def environment(url: URL, load_at_start: tuple[float, float, float]) -> list[str]:
    """Lines describing the machine, the server and the tools of this run."""
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            server = conn.scalar(text("SHOW server_version"))
            postgis = conn.scalar(text("SELECT postgis_lib_version()"))
            geos = conn.scalar(text("SELECT postgis_geos_version()"))
            autovacuum = conn.scalar(text("SHOW autovacuum"))
            jit = conn.scalar(text("SHOW jit"))
            workers = conn.scalar(text("SHOW max_parallel_workers_per_gather"))
    finally:
        engine.dispose()
    gdal = subprocess.run(
        ["ogr2ogr", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    nproc = len(os.sched_getaffinity(0))
    load = " / ".join(f"{x:.2f}" for x in load_at_start)
    return [
        f"- machine: `uname -m` {platform.machine()}, nproc {nproc}, "
        f"load average at start {load} (1 / 5 / 15 min)",
        f"- PostgreSQL {server}, PostGIS {postgis} (GEOS {geos}), {gdal}",
        f"- server settings: autovacuum {autovacuum}, jit {jit}, "
        f"max_parallel_workers_per_gather {workers}; server {url.host}:{url.port or 5432}",
        f"- Python {platform.python_version()}",
    ]


def format_section(outcomes: list[Outcome], env: list[str], started: datetime) -> str:
    """The Markdown section for one run: environment, the table, then each benchmark's notes."""
    lines = [f"## Run of {started.isoformat(timespec='seconds')}", "", *env, ""]
    lines += [
        "| benchmark | geoapp time | anchor time | ratio | goal | met? |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for row in outcome.rows:
            met = "n/a" if row.met is None else ("yes" if row.met else "**no**")
            lines.append(
                f"| {row.benchmark} | {seconds(row.geoapp_s)} | {seconds(row.anchor_s)} "
                f"| {row.ratio} | {row.goal} | {met} |"
            )
    for outcome in outcomes:
        lines += ["", f"Notes ({outcome.name}):", ""]
        lines += [f"- {note}" for note in outcome.notes]
    return "\n".join(lines) + "\n"


def append_results(section: str) -> None:
    """Append a run's section to RESULTS.md, writing the header first if the file is new."""
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if not existing.strip():
        existing = HEADER
    RESULTS.write_text(existing.rstrip("\n") + "\n\n" + section, encoding="utf-8")
