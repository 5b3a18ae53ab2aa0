"""The hot spot layers over HTTP: read the parameters, run (or fetch) the analysis, shape it.

`hotspots` and `emerging_hotspots` answer staff with z-scores and partners with classes
only; `concern_gaps` answers analysts.  Parameters: `from`, `to` (ISO dates, both
included; default the twelve months up to the latest incident), `group` (one or more
incident group codes, comma-separated; default all) and `size` (cell edge in metres).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import redis
from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geoapp import db
from geoapp.layers import LayerSpec
from geoapp.models.community import Community
from geoapp.services import hotspots, incident_cells
from geoapp.services.hotspots import HotspotQuery, Hotspots, MemoryCache

LICENCE = "CC BY 4.0 (classes of aggregated counts)"
SIZES = (250, 500, 1000)
DEFAULT_SIZE = 500
MAX_DAYS = 366 * 5


class ParameterError(ValueError):
    """A query parameter is wrong; the message says which and how to write it."""


@dataclass(frozen=True)
class Parameters:
    """The analysis a request asks for, and the group codes as the caller wrote them."""

    query: HotspotQuery
    groups: tuple[str, ...]


def init_app(app: Flask) -> None:
    """The result cache: Redis when REDIS_URL is set (shared by all workers), else memory."""
    url = app.config.get("REDIS_URL")
    app.extensions["geoapp.cache"] = redis.Redis.from_url(url) if url else MemoryCache()


def _date(name: str, args: Mapping[str, str]) -> date | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise ParameterError(_("'%(name)s' must be a date written YYYY-MM-DD, not '%(raw)s'",
                               name=name, raw=raw)) from exc  # fmt: skip
    if not incident_cells.MIN_YEAR <= day.year <= incident_cells.MAX_YEAR:
        raise ParameterError(_("'%(name)s' must be a date from 1900 to 2100, not '%(raw)s'",
                               name=name, raw=raw))  # fmt: skip
    return day


def parameters(found: Community, args: MultiDict[str, str] | None = None) -> Parameters:
    """Read from, to, group and size; defaults: the last twelve months with data, 500 m.

    From the query string, or from `args` (a session page's form sends them posted).
    """
    args = request.args if args is None else args
    sess = db.session()
    if args.get("period"):  # the exports' filter: a year, quarter or month
        if args.get("from") or args.get("to"):
            raise ParameterError(_("give either 'period' or 'from' and 'to', not both"))
        try:
            period = incident_cells.parse_period(args["period"])
        except incident_cells.PeriodError as exc:
            raise ParameterError(str(exc)) from exc
        start, end = period.start, period.stop - timedelta(days=1)
    else:
        end = _date("to", args) or hotspots.latest_day(sess, found.id) or date.today()
        start = _date("from", args) or date(end.year - 1 + (end.month == 12), end.month % 12 + 1, 1)
    if start > end:
        raise ParameterError(_("'from' must not be after 'to'"))
    if (end - start).days > MAX_DAYS:
        raise ParameterError(_("the period may span at most %(n)s days", n=MAX_DAYS))
    written = ",".join(args.getlist("group"))  # group=a,b or group=a&group=b
    codes = tuple(dict.fromkeys(c.strip() for c in written.split(",") if c.strip()))
    known = incident_cells.group_ids(sess)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ParameterError(_("no incident group %(codes)s",
                               codes=", ".join(repr(c) for c in unknown)))  # fmt: skip
    size = args.get("size") or str(DEFAULT_SIZE)
    if size not in {str(s) for s in SIZES}:  # "²".isdigit(), but int("²") fails
        raise ParameterError(_("size must be one of %(sizes)s (metres)",
                               sizes=", ".join(map(str, SIZES))))  # fmt: skip
    query = HotspotQuery(found.id, start, end, tuple(sorted(known[c] for c in codes)), int(size))
    return Parameters(query, codes)


def analysis(found: Community) -> tuple[Parameters, Hotspots | None]:
    """The parameters of this request and their (cached) result."""
    params = parameters(found)
    cache = current_app.extensions["geoapp.cache"]
    return params, hotspots.analyse(db.session(), params.query, cache)


def layer_data(
    spec: LayerSpec, found: Community, audience: str
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """One of the three hot spot layers for the request's parameters, and its metadata.

    Raises ParameterError (answered 400) for a wrong parameter.
    """
    params, result = analysis(found)
    rows: list[tuple[dict[str, Any], str]] = []
    if result is not None:
        rows = _rows(spec.source, result, audience)
    query = params.query
    meta = dict(
        community=found.slug, licence=LICENCE,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        period={"from": query.start.isoformat(), "to": query.end.isoformat()},
        group=",".join(params.groups) or "all",
        aggregation_unit=f"hexagon, {query.size_m} m edge, EPSG:{found.metric_srid}",
        k=None, cell_size_m=query.size_m, classes_only=audience == "partner",
        statistic="Getis-Ord Gi* (normal approximation), FDR-corrected classes",
        distance_band_m=None if result is None or audience == "partner" else round(result.band_m),
    )  # fmt: skip
    return rows, meta


def _rows(source: str, result: Hotspots, audience: str) -> list[tuple[dict[str, Any], str]]:
    """Features per cell; partners get classes only, counts only analysts."""
    staff = audience in ("staff", "analyst")
    exact = audience == "analyst"
    if source == "hotspots":
        keep = np.ones(len(result.i), dtype=bool)
    elif source == "emerging_hotspots":
        keep = result.trend != ""
    else:
        keep = result.gap != ""
    rings = result.rings_wgs84()
    out = []
    for k in np.flatnonzero(keep).tolist():
        props = {
            "gi_bin": int(result.gi_bin[k]),
            "gi_z": round(float(result.gi_z[k]), 4) if staff else None,
            "gi_p": round(float(result.gi_p[k]), 6) if staff else None,
            "count": int(result.count[k]) if exact else None,
            "incidents": int(result.count[k]) if exact else None,
            "trend": str(result.trend[k]) or None,
            "gap": str(result.gap[k]) or None,
            "concerns": int(result.concerns[k]) if exact else None,
            "expected_concerns": round(float(result.expected_concerns[k]), 2) if exact else None,
            "cell_size_m": int(result.size_m),
            "i": int(result.i[k]), "j": int(result.j[k]),
        }  # fmt: skip
        ring = [[round(x, 6), round(y, 6)] for x, y in rings[k].tolist()]
        out.append((props, json.dumps({"type": "Polygon", "coordinates": [ring]})))
    return out
