"""The one grammar of layer parameters: `LayerQuery.parse(args, accepts)`.

Every output (GeoJSON, CSV, GeoPackage, OGC items, map pages, session mode) reads its
filters here, so `period`, `group` and `size` mean the same everywhere and a typo is a
400 problem, never a silently wider answer.  This is syntax only: which values a caller
may use (a published year, the release's cell size, a known group) is each source's
decision, taken with the caller's audience in hand.

Names: `period` (YYYY, YYYY-Qn, YYYY-MM), `from`/`to` (ISO dates, both included),
`group` (codes, comma-separated or repeated), `size` (cell edge in metres), `status`,
`bbox` (west,south,east,north in WGS 84), `datetime` (OGC: an instant or an interval),
`limit`/`offset` (OGC paging), and `lang`, `f` which every request may carry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _

from geoapp.config import CELL_SIZES
from geoapp.layers.errors import bad
from geoapp.services.incident_cells import MAX_YEAR, MIN_YEAR, Period, PeriodError, parse_period

BBox = tuple[float, float, float, float]
STATUSES = ("accepted", "in_progress", "resolved")
ALWAYS = frozenset({"lang", "f"})
MAX_LIMIT = 10_000
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class LayerQuery:
    """What one request asks of a layer, parsed; None where the caller said nothing."""

    period: Period | None = None
    start: date | None = None  # `from`
    end: date | None = None  # `to`, included
    groups: tuple[str, ...] = ()
    size: int | None = None
    status: str | None = None
    bbox: BBox | None = None
    window: tuple[date | None, date | None] | None = None  # `datetime` as [start, stop)
    limit: int | None = None
    offset: int = 0
    fid: str | None = None
    written: tuple[str, ...] = ()  # the parameter names the caller sent

    @property
    def group(self) -> str | None:
        """The one group of a layer that takes one (None = all)."""
        return self.groups[0] if self.groups else None

    @classmethod
    def parse(
        cls, args: Any, accepts: Collection[str], layer: str = "", extra: Collection[str] = ()
    ) -> LayerQuery:
        """Read `args` (a MultiDict or a mapping); raise LayerError(400) on the first mistake."""
        names = set(args.keys())
        empty = sorted(n for n in names if not _get(args, n))
        if empty:
            raise bad(f"parameter {', '.join(empty)} is empty (leave it out instead)", "empty")
        unknown = sorted(names - set(accepts) - ALWAYS - set(extra))
        if unknown:
            takes = ", ".join(sorted(accepts)) or "none"
            raise bad(f"layer '{layer}' takes no parameter {', '.join(unknown)} "
                      f"(its filters: {takes})", "unknown_parameter")  # fmt: skip
        period = _period(_get(args, "period"))
        start, end = _date("from", _get(args, "from")), _date("to", _get(args, "to"))
        if period is not None and (start or end):
            raise bad(_("give either 'period' or 'from' and 'to', not both"))
        if start and end and start > end:
            raise bad(_("'from' must not be after 'to'"))
        status = _get(args, "status")
        if status is not None and status not in STATUSES:
            raise bad(f"'status' must be one of {', '.join(STATUSES)}")
        return cls(
            period=period, start=start, end=end, groups=_groups(args), size=_size(args),
            status=status, bbox=parse_bbox(_get(args, "bbox")),
            window=parse_datetime(_get(args, "datetime")),
            limit=_integer(args, "limit", 1, MAX_LIMIT),
            offset=_integer(args, "offset", 0, 10**9) or 0,
            written=tuple(sorted(names)),
        )  # fmt: skip


def _get(args: Any, name: str) -> str | None:
    value = args.get(name)
    return None if value is None else str(value)


def _period(raw: str | None) -> Period | None:
    if raw is None:
        return None
    try:
        return parse_period(raw)
    except PeriodError as exc:  # the service's words are English; the caller's may not be
        raise bad(_("'period': '%(value)s' is not a period: write 2025, 2025-Q2 "
                    "or 2025-03 (a year from 1900 to 2100)", value=raw)) from exc  # fmt: skip


def _date(name: str, raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise bad(_("'%(name)s' must be a date written YYYY-MM-DD, not '%(raw)s'",
                    name=name, raw=raw)) from exc  # fmt: skip
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise bad(_("'%(name)s' must be a date from 1900 to 2100, not '%(raw)s'",
                    name=name, raw=raw))  # fmt: skip
    return day


def _groups(args: Any) -> tuple[str, ...]:
    values = args.getlist("group") if hasattr(args, "getlist") else [args.get("group") or ""]
    written = ",".join(v for v in values if v)  # group=a,b or group=a&group=b
    return tuple(dict.fromkeys(c.strip() for c in written.split(",") if c.strip()))


def _size(args: Any) -> int | None:
    raw = _get(args, "size")
    if raw is None:
        return None
    if raw not in {str(s) for s in CELL_SIZES}:  # "²".isdigit(), but int("²") fails
        raise bad(_("size must be one of %(sizes)s (metres)",
                    sizes=", ".join(map(str, CELL_SIZES))), "size")  # fmt: skip
    return int(raw)


def _integer(args: Any, name: str, low: int, high: int) -> int | None:
    raw = _get(args, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise bad(f"'{name}' must be an integer from {low} to {high}")
    return int(raw)


def parse_bbox(raw: str | None) -> BBox | None:
    """`west,south,east,north` in WGS 84 degrees, as RFC 7946 and OGC API write it."""
    if raw is None:
        return None
    try:
        values = [float(p) for p in raw.split(",")]
    except ValueError as exc:
        raise bad("'bbox' must be four numbers: west,south,east,north") from exc
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad("'bbox' must be four numbers: west,south,east,north")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise bad("'bbox' must satisfy -180 <= west < east <= 180, "
                  "-90 <= south < north <= 90")  # fmt: skip
    return west, south, east, north


def parse_datetime(raw: str | None) -> tuple[date | None, date | None] | None:
    """OGC `datetime` (an instant or an interval, `..` open) as days [start, stop)."""
    if raw is None:
        return None

    def day(text: str) -> date | None:
        if text in ("..", ""):
            return None
        match = _DAY.match(text)
        if not match:
            raise bad(f"'datetime' must be RFC 3339 dates or an interval, not '{raw}'")
        try:
            found = date.fromisoformat(match[1])
        except ValueError as exc:
            raise bad(f"'datetime': {exc}") from exc
        if not MIN_YEAR <= found.year <= MAX_YEAR:  # 9999-12-31 has no day after it
            raise bad(f"'datetime': the year must be from {MIN_YEAR} to {MAX_YEAR}")
        return found

    if "/" in raw:
        first, _slash, last = raw.partition("/")
        start, end = day(first), day(last)
        if first == last == "..":
            return None, None
        if start and end and start > end:
            raise bad("'datetime': the interval ends before it starts")
    else:
        start = end = day(raw)
        if start is None:
            raise bad("'datetime' must be a date or an interval")
    return start, (end + timedelta(days=1)) if end else None


def as_args(values: Mapping[str, str]) -> dict[str, str]:
    """A plain mapping of parameters without the empty ones (a session form's saved filter)."""
    return {k: v for k, v in values.items() if v}
