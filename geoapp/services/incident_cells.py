"""Incident counts per hexagonal cell, group and period: built after each import, then read.

Why hexagons in the community's UTM zone rather than H3: the cells are exact metric
sizes (250 m, 500 m, 1 km edge to edge is what an analyst asks for), PostGIS draws them
with `ST_Hexagon` from two integers, and the cell of a point is arithmetic
(`geoapp.analysis.hexgrid`), so the whole community is counted in one numpy pass without a
spatial join (see bench/RESULTS.md).

The table keeps each cell's count per year (all groups) and the community's totals per
period and group (`cell_rows`); finer cell tables are counted when an analyst asks.  For the
sizes the public may see (`GEOAPP_PUBLIC_CELL_SIZES`) the same table carries the disclosure
decision made by `geoapp.analysis.suppression.protect` (see `year_withheld` for what is
published and why so little), so a withheld count cannot be recovered by subtracting
published counts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

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
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


MIN_YEAR, MAX_YEAR = 1900, 2100  # statistics and plans of this pilot; no date outside it


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
    if not MIN_YEAR <= year <= MAX_YEAR:  # 9999 would end in year 10000, which no date has
        raise PeriodError(f"period '{value}': the year must be from {MIN_YEAR} to {MAX_YEAR}")
    if quarter:
        return Period("quarter", date(year, 3 * int(quarter) - 2, 1))
    if month:
        if not 1 <= int(month) <= 12:
            raise PeriodError(f"'{value}': there is no month {month}")
        return Period("month", date(year, int(month), 1))
    return Period("year", date(year, 1, 1))


def year_withheld(counts: np.ndarray, k: int) -> np.ndarray:
    """Which of one year's cell counts, and (last) the community total, the public may not see.

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
    return protect(np.asarray(counts), [[list(range(len(counts)))]], k).suppressed


CELL_COLUMNS = ["community_id", "size_m", "period", "period_start", "category_id", "i", "j",
                "n", "suppressed"]  # fmt: skip


def _month_start(months: np.ndarray) -> list[str]:
    """Months since 1970-01 as the ISO date of their first day."""
    return [f"{m // 12 + 1970}-{m % 12 + 1:02d}-01" for m in months.tolist()]


def _totals(category: np.ndarray, month: np.ndarray) -> pd.DataFrame:
    """The community's count per period (month, quarter, year) and group (None = all).

    Counted once per month and group (one `np.bincount`); quarters and years are sums of
    months.
    """
    groups, group_index = np.unique(category, return_inverse=True)
    first = int(month.min())
    offset = month - first
    grid = np.bincount(offset * len(groups) + group_index.ravel(),
                       minlength=(int(offset.max()) + 1) * len(groups))  # fmt: skip
    grid = grid.reshape(-1, len(groups))
    months = first + np.arange(grid.shape[0])
    frames = []
    for period, span in (("month", 1), ("quarter", 3), ("year", 12)):
        starts, which = np.unique(months - months % span, return_inverse=True)
        table = np.zeros((len(starts), len(groups)), dtype=np.int64)
        np.add.at(table, which.ravel(), grid)
        every = table.sum(axis=1)
        rows, cols = np.nonzero(table)
        busy = np.flatnonzero(every)
        frames.append(pd.DataFrame({
            "period": period,
            "period_start": _month_start(np.concatenate([starts[rows], starts[busy]])),
            "category_id": pd.array([*groups[cols].tolist(), *[None] * len(busy)],
                                    dtype="Int64"),
            "n": np.concatenate([table[rows, cols], every[busy]]),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def cell_rows(points: BinaryPoints, srid: int, k: int, public_sizes: Iterable[int]) -> pd.DataFrame:
    """The rows `incident_cell` keeps for a community's incidents (pure: no database).

    Kept: per cell size and year, each cell's count over all groups (the one table the
    public may see, with its disclosure decision at the public sizes), and per size the
    community's total for every month, quarter and year, by group and all together (what
    the filters offer and what the legend totals).  Cells by month, quarter or group are
    counted when an analyst asks (`cells`): kept for every combination they were 1.3
    million rows for a million incidents, most of an import's time (bench/RESULTS.md).
    """
    public = set(public_sizes)
    if not len(points.lon):
        return pd.DataFrame(columns=CELL_COLUMNS[1:])
    x, y = (np.asarray(v) for v in transformer(4326, srid).transform(points.lon, points.lat))
    month = points.month
    totals = _totals(points.category, month)
    # Counted per cell and year: every group as one, every month as its year's January.
    by_year = count_by_cell(x, y, np.zeros(len(x), dtype=np.int64), month - month % 12,
                            list(SIZES))  # fmt: skip
    frames = []
    for size in SIZES:
        of_size = by_year[by_year[:, 0] == size]
        counted = pd.DataFrame({"year": of_size[:, 4] - 1970, "i": of_size[:, 1],
                                "j": of_size[:, 2], "n": of_size[:, 6]})  # fmt: skip
        withheld = np.zeros(len(counted), dtype=bool)
        total_withheld: dict[int, bool] = {}
        if size in public:
            years = counted["year"].to_numpy()
            for y_value in np.unique(years):
                rows = np.flatnonzero(years == y_value)
                decision = year_withheld(counted["n"].to_numpy()[rows], k)
                withheld[rows] = decision[:-1]
                total_withheld[int(y_value)] = bool(decision[-1])
        frames.append(pd.DataFrame({
            "size_m": size, "period": "year",
            "period_start": _month_start(counted["year"].to_numpy() * 12),
            "category_id": pd.array([None] * len(counted), dtype="Int64"),
            "i": counted["i"], "j": counted["j"], "n": counted["n"],
            "suppressed": pd.array(withheld if size in public else [None] * len(counted),
                                   dtype="boolean"),
        }))  # fmt: skip
        sums = totals.assign(size_m=size, i=pd.NA, j=pd.NA)
        if size in public:  # only the year's total of all groups may be published
            open_total = (sums["period"] == "year") & sums["category_id"].isna()
            years_of = pd.to_datetime(sums["period_start"]).dt.year - 1970
            decided = years_of.map(total_withheld).fillna(True).astype(bool)
            sums["suppressed"] = pd.array(np.where(open_total, decided, True), dtype="boolean")
        else:
            sums["suppressed"] = pd.array([None] * len(sums), dtype="boolean")
        frames.append(sums)
    table = pd.concat(frames, ignore_index=True)
    return table[CELL_COLUMNS[1:]]


def write_cells(session: Session, community_id: int, table: pd.DataFrame) -> int:
    """Replace the community's rows of `incident_cell` by `table` (from `cell_rows`)."""
    session.execute(text("DELETE FROM incident_cell WHERE community_id = :c"), {"c": community_id})
    if not len(table):
        return 0
    buffer = io.StringIO()
    table.assign(community_id=community_id)[CELL_COLUMNS].to_csv(buffer, header=False,
                                                                 index=False)  # fmt: skip
    conn = session.connection().connection.dbapi_connection
    assert conn is not None
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY incident_cell ({', '.join(CELL_COLUMNS)}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())
    session.execute(text("ANALYZE incident_cell"))
    return len(table)


def incident_points(
    session: Session,
    community_id: int,
    period: Period | None = None,
    category_id: int | None = None,
) -> BinaryPoints:
    """The community's incidents (of one period and group, if given) as arrays.

    The server packs each incident into 24 big-endian bytes (lon, lat, category, day) and
    concatenates them, so one value crosses the wire and numpy reads it as a structured
    array: no Python object, no protocol message per incident (a row-wise COPY spent
    2.7 s per million in psycopg).
    """
    params = {"c": community_id, "start": period.start if period else None,
              "stop": period.stop if period else None, "category_id": category_id}  # fmt: skip
    packed = session.execute(sql.load("incident_points_packed"), params).scalar()
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

    def __len__(self) -> int:
        """The number of incidents."""
        return len(self.lon)

    def __add__(self, other: BinaryPoints) -> BinaryPoints:
        """Both sets of incidents (an import's new ones after those already there)."""
        return BinaryPoints(*(np.concatenate([getattr(self, f), getattr(other, f)])
                              for f in ("lon", "lat", "category", "day")))  # fmt: skip


def metric_srid(session: Session, community_id: int) -> int:
    """The community's metric CRS, in which its cells are drawn."""
    return int(session.execute(text("SELECT metric_srid FROM community WHERE id = :c"),
                               {"c": community_id}).scalar_one())  # fmt: skip


def rebuild(session: Session, community_id: int, k: int, public_sizes: Iterable[int]) -> int:
    """Recount the community's cells from its incidents; return the number of rows written.

    Runs inside the caller's transaction, so the published counts and the incidents never
    disagree.  The incidents come out as one packed bytea (`incident_points`), are
    projected with PROJ (as PostGIS would) and counted in numpy (`cell_rows`); the rows go
    back by one CSV COPY.  The importer, which has its new incidents in hand, calls
    `cell_rows` and `write_cells` itself.
    """
    points = incident_points(session, community_id)
    table = cell_rows(points, metric_srid(session, community_id), k, public_sizes)
    return write_cells(session, community_id, table)


@dataclass(frozen=True)
class CellQuery:
    """One published table: a community, a cell size, a period and a group (None = all)."""

    community_id: int
    size_m: int
    period: Period
    category_id: int | None

    @property
    def kept(self) -> bool:
        """Whether `incident_cell` holds this table (a whole year, all groups)."""
        return self.period.kind == "year" and self.category_id is None


def cells(session: Session, query: CellQuery, exact: bool) -> tuple[list[tuple[dict, str]], dict]:
    """The cells of one table as (properties, GeoJSON geometry), and the community total.

    With `exact` false (public and partners) a withheld count is null and marked
    `suppressed`; the total is published only when the decision allows it.  Tables
    finer than a year of all groups are counted now from the incidents (`cell_rows`
    explains why), and every count in them is withheld unless `exact`.
    """
    if not query.kept:
        return _counted_cells(session, query, exact)
    params = {"community_id": query.community_id, "size_m": query.size_m,
              "period": query.period.kind, "period_start": query.period.start,
              "category_id": query.category_id}  # fmt: skip
    return _features(session.execute(sql.load("incident_cells_read"), params), query, exact)


def _counted_cells(
    session: Session, query: CellQuery, exact: bool
) -> tuple[list[tuple[dict, str]], dict]:
    """A finer table (a month, a quarter, one group), counted from the incidents in it."""
    points = incident_points(session, query.community_id, query.period, query.category_id)
    srid = metric_srid(session, query.community_id)
    x, y = transformer(4326, srid).transform(points.lon, points.lat)
    zero = np.zeros(len(points), dtype=np.int64)  # one group, one month: cells only
    counted = count_by_cell(np.asarray(x), np.asarray(y), zero, zero, [query.size_m])
    params = {"community_id": query.community_id, "size_m": query.size_m,
              "i": counted[:, 1].tolist(), "j": counted[:, 2].tolist(),
              "n": counted[:, 6].tolist(), "total": len(points),
              "withheld": not exact}  # fmt: skip
    return _features(session.execute(sql.load("incident_cells_counted"), params), query, exact)


def _features(rows: Iterable[Any], query: CellQuery, exact: bool) -> tuple[list, dict]:
    """Rows (i, j, n, suppressed, geometry; null i/j for the total) as features and total."""
    features, total = [], {"count": 0, "suppressed": False}
    for row in rows:
        withheld = bool(row.suppressed) and not exact
        count = None if withheld else row.n
        if row.i is None:
            total = {"count": count, "suppressed": withheld}
            continue
        props = {"count": count, "suppressed": withheld, "cell_size_m": query.size_m,
                 "period": query.period.label, "i": row.i, "j": row.j}  # fmt: skip
        features.append((props, row.geometry))
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
