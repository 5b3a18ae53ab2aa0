"""Incident counts per hexagonal cell, group and period: built after each import, then read.

Why hexagons in the community's UTM zone rather than H3: the cells are exact metric
sizes (250 m, 500 m, 1 km edge to edge is what an analyst asks for), PostGIS draws them
with `ST_Hexagon` from two integers, and the cell of a point is arithmetic
(`geoapp.analysis.hexgrid`), so the whole community is counted in one numpy pass without a
spatial join (see bench/RESULTS.md).

Every count is kept exactly, for analysts.  For the sizes the public may see
(`GEOAPP_PUBLIC_CELL_SIZES`) the same table carries the disclosure decision made by
`geoapp.analysis.suppression.protect` (see `public_withheld` for what is published and why
so little), so a withheld count cannot be recovered by subtracting published counts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.analysis.hexgrid import count_by_cell
from geoapp.analysis.suppression import protect
from geoapp.config import CELL_SIZES
from geoapp.geo.crs import transformer

SIZES = CELL_SIZES
# One incident as `incident_points_packed.sql` packs it: float8 lon, float8 lat, int4
# category, int4 days since 2000-01-01, all big-endian (PostgreSQL's send format).
PACKED_POINT = np.dtype([("lon", ">f8"), ("lat", ">f8"), ("category", ">i4"), ("day", ">i4")])
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01
PERIODS = ("year", "quarter", "month")
QUARTERS = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
# Months 0-11 are the base; 12-15 are the quarters, 16 the year.
TIME_MARGINS = [*QUARTERS, [12, 13, 14, 15]]
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


class PeriodError(ValueError):
    """A period is not written as YYYY, YYYY-Qn or YYYY-MM."""


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month, as the map and the API name it."""

    kind: str
    start: date

    @property
    def stop(self) -> date:
        """The first day after the period."""
        months = {"year": 12, "quarter": 3, "month": 1}[self.kind]
        index = self.start.year * 12 + self.start.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    @property
    def label(self) -> str:
        """The period as the API writes it: 2025, 2025-Q2 or 2025-03."""
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"


def parse_period(value: str) -> Period:
    """Read 2025, 2025-Q2 or 2025-03; anything else is a PeriodError."""
    match = _PERIOD.match(value.strip())
    if not match:
        raise PeriodError(f"'{value}' is not a period (write 2025, 2025-Q2 or 2025-03)")
    year, quarter, month = int(match[1]), match[2], match[3]
    if year < 1:
        raise PeriodError(f"'{value}': there is no year 0")
    if quarter:
        return Period("quarter", date(year, 3 * int(quarter) - 2, 1))
    if month:
        if not 1 <= int(month) <= 12:
            raise PeriodError(f"'{value}': there is no month {month}")
        return Period("month", date(year, int(month), 1))
    return Period("year", date(year, 1, 1))


def public_withheld(cube: np.ndarray, k: int) -> np.ndarray:
    """Which entries of a year's extended cube the public may not see.

    The public gets one table per year and cell size: each cell's count of the year (all
    groups) and the community's total.  Finer tables were tried and measured on synthetic
    data of pilot density (about 1,000 incidents a year over a hromada, 1 km cells): adding
    months and quarters, or groups, to the cells linked nearly every withheld count into
    one component, and the affordable proof then withheld every cell, busy ones included
    (0 % of incidents publishable, against 41 % for the year table, which is exactly the
    share in cells of k or more: its complements cost nothing there).  So per-cell counts by
    group or by month/quarter stay with staff; the API refuses them to the public.  One
    relation (the total) over withheld counts that are each >= 1 is protected exactly by
    `protect`: no withheld count can be computed.
    """
    cells, groups, _months = cube.shape
    year = protect(cube.sum(axis=(1, 2)), [[list(range(cells))]], k)
    out = np.ones((cells + 1, groups + 1, 17), dtype=bool)  # not published unless below
    out[:, groups, 16] = year.suppressed
    return out


def _year_frame(part: np.ndarray, k: int, public: bool) -> pd.DataFrame:
    """Every non-zero count of one year, as rows of `incident_cell` (vectorised).

    `part` holds (size, i, j, category, year, month, n) rows of one size and one year.
    """
    year = int(part[0, 4])
    cell_keys, cell_idx = np.unique(part[:, 1:3], axis=0, return_inverse=True)
    group_keys, group_idx = np.unique(part[:, 3], return_inverse=True)
    cube = np.zeros((len(cell_keys), len(group_keys), 12), dtype=np.int64)
    np.add.at(cube, (cell_idx.ravel(), group_idx.ravel(), part[:, 5] - 1), part[:, 6])
    margins = [[list(range(len(cell_keys)))], [list(range(len(group_keys)))], TIME_MARGINS]
    protected = protect(cube, margins, k=1)  # the exact extended table (nothing withheld)
    withheld = public_withheld(cube, k) if public else protected.suppressed
    c, g, t = np.nonzero(protected.values)
    real_cell, real_group = c < len(cell_keys), g < len(group_keys)
    clipped = np.minimum(c, len(cell_keys) - 1)
    month = np.where(t < 12, t + 1, np.where(t < 16, 3 * (t - 12) + 1, 1))
    return pd.DataFrame({
        "period": np.select([t < 12, t < 16], ["month", "quarter"], "year"),
        "period_start": [f"{year}-{m:02d}-01" for m in month.tolist()],
        "category_id": pd.Series(group_keys[np.minimum(g, len(group_keys) - 1)],
                                 dtype="Int64").where(real_group),
        "i": pd.Series(cell_keys[clipped, 0], dtype="Int64").where(real_cell),
        "j": pd.Series(cell_keys[clipped, 1], dtype="Int64").where(real_cell),
        "n": protected.values[c, g, t],
        "suppressed": pd.Series(withheld[c, g, t], dtype="boolean")
        .where(np.full(len(c), public)),
    })  # fmt: skip


def incident_points(session: Session, community_id: int) -> BinaryPoints:
    """The community's incidents as arrays, fetched as one packed bytea.

    The server packs each incident into 24 big-endian bytes (lon, lat, category, day) and
    concatenates them, so one value crosses the wire and numpy reads it as a structured
    array: no Python object, no protocol message per incident (a row-wise COPY spent
    2.7 s per million in psycopg).
    """
    packed = session.execute(sql.load("incident_points_packed"), {"c": community_id}).scalar()
    rows = np.frombuffer(packed or b"", dtype=PACKED_POINT)
    day = (rows["day"].astype(np.int64) + PG_EPOCH_DAYS).astype("datetime64[D]")
    return BinaryPoints(
        lon=rows["lon"].astype(np.float64),
        lat=rows["lat"].astype(np.float64),
        category=rows["category"].astype(np.int64),
        day=day,
    )


@dataclass(frozen=True)
class BinaryPoints:
    """A community's incidents: lon/lat, category id, day (datetime64[D])."""

    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray
    day: np.ndarray

    @property
    def month(self) -> np.ndarray:
        """Months since 1970-01, as `count_by_cell` takes them."""
        return self.day.astype("datetime64[M]").astype(np.int64)


def rebuild(session: Session, community_id: int, k: int, public_sizes: Iterable[int]) -> int:
    """Recount the community's cells from its incidents; return the number of rows written.

    Runs inside the caller's transaction (an import calls it before committing), so
    the published counts and the incidents never disagree.  The incidents come out as
    one packed bytea (`incident_points`), are projected with PROJ (as PostGIS would) and
    counted in numpy (`geoapp.analysis.hexgrid`); the rows go back by one CSV COPY.
    """
    public = set(public_sizes)
    session.execute(text("DELETE FROM incident_cell WHERE community_id = :c"), {"c": community_id})
    points = incident_points(session, community_id)
    if not len(points.lon):
        return 0
    srid = session.execute(text("SELECT metric_srid FROM community WHERE id = :c"),
                           {"c": community_id}).scalar_one()  # fmt: skip
    x, y = transformer(4326, int(srid)).transform(points.lon, points.lat)
    data = count_by_cell(np.asarray(x), np.asarray(y), points.category, points.month, list(SIZES))
    frames = []
    for size in SIZES:
        of_size = data[data[:, 0] == size]
        for year in np.unique(of_size[:, 4]):
            frame = _year_frame(of_size[of_size[:, 4] == year], k, size in public)
            frames.append(frame.assign(community_id=community_id, size_m=size))
    table = pd.concat(frames, ignore_index=True)
    columns = ["community_id", "size_m", "period", "period_start", "category_id", "i", "j", "n",
               "suppressed"]  # fmt: skip
    buffer = io.StringIO()
    table[columns].to_csv(buffer, header=False, index=False)
    conn = session.connection().connection.dbapi_connection
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY incident_cell ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())
    session.execute(text("ANALYZE incident_cell"))
    return len(table)


@dataclass(frozen=True)
class CellQuery:
    """One published table: a community, a cell size, a period and a group (None = all)."""

    community_id: int
    size_m: int
    period: Period
    category_id: int | None


def cells(session: Session, query: CellQuery, exact: bool) -> tuple[list[tuple[dict, str]], dict]:
    """The cells of one table as (properties, GeoJSON geometry), and the community total.

    With `exact` false (public and partners) a withheld count is null and marked
    `suppressed`; the total is published only when the decision allows it.
    """
    params = {"community_id": query.community_id, "size_m": query.size_m,
              "period": query.period.kind, "period_start": query.period.start,
              "category_id": query.category_id}  # fmt: skip
    features, total = [], {"count": 0, "suppressed": False}
    for row in session.execute(sql.load("incident_cells_read"), params).mappings():
        withheld = bool(row["suppressed"]) and not exact
        count = None if withheld else row["n"]
        if row["i"] is None:
            total = {"count": count, "suppressed": withheld}
            continue
        props = {"count": count, "suppressed": withheld, "cell_size_m": query.size_m,
                 "period": query.period.label, "i": row["i"], "j": row["j"]}  # fmt: skip
        features.append((props, row["geometry"]))
    return features, total


def available_periods(session: Session, community_id: int) -> list[Period]:
    """Every year, quarter and month with incidents, newest first (for the map's filter)."""
    rows = session.execute(
        text("SELECT DISTINCT period, period_start FROM incident_cell "
             "WHERE community_id = :c AND size_m = :s ORDER BY period_start DESC, period"),
        {"c": community_id, "s": SIZES[-1]},
    )  # fmt: skip
    order = {kind: n for n, kind in enumerate(PERIODS)}
    found = [Period(kind, start) for kind, start in rows]
    return sorted(found, key=lambda p: (-p.start.year, order[p.kind], -p.start.toordinal()))


def published_share(session: Session, community_id: int, year: int) -> dict[int, float]:
    """Per public size: the share of the year's incidents that sit in published cells.

    The map opens at the smallest size where most incidents are publishable.
    """
    rows = session.execute(sql.load("incident_cells_published_share"),
                           {"community_id": community_id, "start": date(year, 1, 1)})  # fmt: skip
    return {size: float(share) for size, share in rows}


def class_breaks(counts: list[int], k: int, classes: int = 5) -> list[int]:
    """Upper-open class breaks for the legend: quantiles of the published counts, rounded.

    Starts at k for suppressed outputs (nothing smaller is shown) and at 1 for exact ones.
    """
    if not counts:
        return []
    values = np.asarray(counts, dtype=float)
    qs = np.quantile(values, np.linspace(0, 1, classes + 1)[1:-1])
    breaks = sorted({max(k, int(np.ceil(q))) for q in qs} | {k})
    return [b for b in breaks if b <= values.max()]


def group_ids(session: Session) -> dict[str, int]:
    """Incident group codes and their category ids (the map's and the API's `group`)."""
    rows = session.execute(text("SELECT code, id FROM category WHERE domain = 'incident'"))
    return dict(rows.all())


def groups_present(session: Session, community_id: int) -> list[tuple[str, str, str]]:
    """(code, name_uk, name_en) of the incident groups this community has counts for."""
    rows = session.execute(sql.load("incident_cells_groups"), {"community_id": community_id})
    return [tuple(r) for r in rows.all()]  # type: ignore[misc]


def incident_count(session: Session, community_id: int) -> int:
    """How many incidents the community holds (the staff map switches to tiles above a size)."""
    return int(session.execute(text("SELECT count(*) FROM incident WHERE community_id = :c"),
                               {"c": community_id}).scalar_one())  # fmt: skip
