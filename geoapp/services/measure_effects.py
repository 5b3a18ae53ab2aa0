"""Did a measure work? Count incidents and concerns around its target, before and after.

Flask-free.  `effect` takes a measure with a target area and a start date and counts, in
two windows of equal length that meet at the start, the incidents and the accepted
concerns in three areas (Bowers & Johnson 2003, see `analysis.evaluation`):

* the target area itself;
* a buffer ring `BUFFER_M` wide around it, where crime may be displaced to.  400 m is
  a few street blocks, about the distance an offender moves on when a place gets
  harder; it is clipped to the community;
* the rest of the community, as control, which carries the background trend.

The after window runs from the start to the last day the data covers (the latest
incident, and never past today), at most `MAX_WINDOW_DAYS`; the before window is as
long.  Months before and after feed the chart, with the line the target would have
followed had it moved like the rest of the community.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import privacy
from geoapp.analysis.evaluation import AreaCounts, Evaluation, evaluate, windows
from geoapp.geo.crs import project, transformer
from geoapp.models.measure import Measure
from geoapp.services.incident_cells import incident_points

BUFFER_M = 400.0
MAX_WINDOW_DAYS = 365
AREAS = ("target", "buffer", "control")


@dataclass(frozen=True)
class Effect:
    """The counts, the evaluation and the monthly series of one measure."""

    before: tuple[date, date]
    after: tuple[date, date]
    days: int
    incidents: Evaluation
    concerns: Evaluation
    months: list[date]  # first day of each month from the before window's start
    series: dict[str, list[int]]  # incidents per month in "target", "buffer", "control"
    expected: list[float | None]  # the target had it followed the control (None: no base)


@dataclass(frozen=True)
class NoEffect:
    """Why there is nothing to evaluate yet: a code the page words.

    `no_target`, `no_start`, `not_started` (the start is after the data's last day).
    """

    reason: str


def effect(session: Session, measure: Measure, today: date | None = None) -> Effect | NoEffect:
    """Evaluate `measure` on the community's data as it is now (see the module docstring)."""
    if measure.target is None:
        return NoEffect("no_target")
    if measure.start_on is None:
        return NoEffect("no_start")
    row = session.execute(text(
        "SELECT ST_AsBinary(geom), metric_srid, "
        "       (SELECT max(occurred_on) FROM incident WHERE community_id = :c) "
        "FROM community WHERE id = :c"), {"c": measure.community_id}).one()  # fmt: skip
    today = today or date.today()
    last = min(row[2], today) if row[2] is not None else today
    days = min((last - measure.start_on).days + 1, MAX_WINDOW_DAYS)
    if days < 1 or row[0] is None:
        return NoEffect("not_started")
    srid = int(row[1])
    regions = areas(shapely.from_wkb(bytes(row[0])),
                    shapely.from_wkb(bytes(measure.target.data)), srid)  # fmt: skip
    before, after = windows(measure.start_on, days)
    points = incident_points(session, measure.community_id)
    x, y = transformer(4326, srid).transform(points.lon, points.lat)
    where = locate(regions, np.asarray(x), np.asarray(y))
    incidents = evaluate(*count_windows(where, points.day, before, after))
    cx, cy, cday = _concerns(session, measure.community_id, srid)
    concerns = evaluate(*count_windows(locate(regions, cx, cy), cday, before, after))
    months, series = monthly(where, points.day, before[0], after[1])
    return Effect(before=before, after=after, days=days, incidents=incidents,
                  concerns=concerns, months=months, series=series,
                  expected=expected_line(series, months, measure.start_on))  # fmt: skip


def areas(
    community: shapely.Geometry, target: shapely.Geometry, srid: int
) -> tuple[shapely.Geometry, shapely.Geometry, shapely.Geometry]:
    """Target, buffer ring and control in metres (`srid`), each within the community."""
    whole = project(community, 4326, srid)
    aim = shapely.intersection(project(target, 4326, srid), whole)
    ring = shapely.difference(shapely.intersection(aim.buffer(BUFFER_M), whole), aim)
    rest = shapely.difference(whole, shapely.union(aim, ring))
    return aim, ring, rest


def locate(
    regions: tuple[shapely.Geometry, shapely.Geometry, shapely.Geometry],
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """0 target, 1 buffer, 2 control, -1 outside the community, for each point."""
    where = np.full(len(x), -1, dtype=np.int8)
    for code in (2, 1, 0):  # target last: a point on a shared edge counts for the target
        region = regions[code]
        shapely.prepare(region)
        where[shapely.intersects_xy(region, x, y)] = code
    return where


def count_windows(
    where: np.ndarray, day: np.ndarray, before: tuple[date, date], after: tuple[date, date]
) -> tuple[AreaCounts, AreaCounts, AreaCounts]:
    """Counts per area in the before and the after window (both ends included)."""

    def within(window: tuple[date, date]) -> np.ndarray:
        return (day >= np.datetime64(window[0])) & (day <= np.datetime64(window[1]))

    b, a = within(before), within(after)
    return tuple(  # type: ignore[return-value]
        AreaCounts(before=int(np.sum(b & (where == k))), after=int(np.sum(a & (where == k))))
        for k in range(3)
    )


def monthly(
    where: np.ndarray, day: np.ndarray, first: date, last: date
) -> tuple[list[date], dict[str, list[int]]]:
    """Incidents per calendar month and area from `first`'s month to `last`'s."""
    start, stop = np.datetime64(first, "M"), np.datetime64(last, "M")
    months = np.arange(start, stop + 1)
    step = (day.astype("datetime64[M]") - start).astype(np.int64)
    keep = (step >= 0) & (step < len(months)) & (where >= 0)
    table = np.bincount(where[keep].astype(np.int64) * len(months) + step[keep],
                        minlength=3 * len(months)).reshape(3, len(months))  # fmt: skip
    labels = [date.fromisoformat(f"{m}-01") for m in months.astype(str)]
    return labels, {name: [int(v) for v in table[k]] for k, name in enumerate(AREAS)}


def expected_line(
    series: dict[str, list[int]], months: list[date], start: date
) -> list[float | None]:
    """The target's months had it kept its before-share of the control's count.

    The chart's dashed line: where the target runs below it after the start, it did
    better than the rest of the community.  None throughout when the control had no
    incident before the start (there is no share to keep).
    """
    first_after = date(start.year, start.month, 1)
    before = [k for k, m in enumerate(months) if m < first_after]
    target_before = sum(series["target"][k] for k in before)
    control_before = sum(series["control"][k] for k in before)
    if control_before == 0:
        return [None] * len(months)
    share = target_before / control_before
    return [round(c * share, 2) for c in series["control"]]


def _concerns(
    session: Session, community_id: int, srid: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metric x, y and report day of the community's accepted concerns (true points)."""
    rows = session.execute(
        text(
            "SELECT ST_X(point), ST_Y(point), (created_at AT TIME ZONE :tz)::date "
            "FROM concern WHERE community_id = :c "
            "AND status = ANY(CAST(:public_statuses AS concern_status[]))"
        ),
        {"c": community_id, **privacy.policy_params()},
    ).all()
    if not rows:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype="datetime64[D]")
    lon = np.array([r[0] for r in rows])
    lat = np.array([r[1] for r in rows])
    x, y = transformer(4326, srid).transform(lon, lat)
    day = np.array([r[2] for r in rows], dtype="datetime64[D]")
    return np.asarray(x), np.asarray(y), day
