"""From a request to a layer's data: which filters a layer takes, and whose rows it gets.

Shared by the GeoJSON/CSV/GeoPackage export and the OGC API, so both accept the same
filters and refuse the same mistakes.  Each source asks `privacy.py` for its rows; this
module only reads parameters and adds the metadata every export carries (privacy rule 5:
period, aggregation unit, k, licence, generated-at).

Filters per layer (anything else is a 400 problem, never silently ignored):
`boundaries` bbox; `concerns` period, group (concern category codes), status, bbox;
`incident_cells` period, group, size, bbox; `incidents` period, group, bbox;
`hotspots`, `emerging_hotspots`, `concern_gaps` period or from/to, group, size, bbox;
`measures` bbox.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from geoapp import db, privacy
from geoapp.layers import LayerSpec
from geoapp.models.community import Community
from geoapp.services import layer_export
from geoapp.services.categories import for_community
from geoapp.services.communities import boundary_geojson, summary_by_slug
from geoapp.services.incident_cells import PeriodError, parse_period
from geoapp.services.layer_export import LayerData
from geoapp.web import hotspot_layers, incident_layers

BBox = tuple[float, float, float, float]
STATUSES = ("accepted", "in_progress", "resolved")
ALWAYS = {"lang"}
FILTERS: dict[str, set[str]] = {
    "boundaries": {"bbox"},
    "concerns": {"period", "group", "status", "bbox"},
    "incident_cells": {"period", "group", "size", "bbox"},
    "incidents": {"period", "group", "bbox"},
    "hotspots": {"period", "from", "to", "group", "size", "bbox"},
    "emerging_hotspots": {"period", "from", "to", "group", "size", "bbox"},
    "concern_gaps": {"period", "from", "to", "group", "size", "bbox"},
    "measures": {"bbox"},
}


class FilterError(ValueError):
    """A filter is unknown for the layer or wrongly written (answered with a 400 problem)."""


def parse_bbox(raw: str | None) -> BBox | None:
    """`west,south,east,north` in WGS 84 degrees, as RFC 7946 and OGC API write it."""
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise FilterError("'bbox' must be four numbers: west,south,east,north") from exc
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise FilterError("'bbox' must be four numbers: west,south,east,north")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise FilterError("'bbox' must satisfy -180 <= west < east <= 180, "
                          "-90 <= south < north <= 90")  # fmt: skip
    return west, south, east, north


def check_names(spec: LayerSpec, names: set[str], extra: set[str] = frozenset()) -> None:
    """Refuse parameters the layer does not take (a typo must not widen an export)."""
    empty = sorted(n for n in names if not request.args.get(n))
    if empty:
        raise FilterError(f"parameter {', '.join(empty)} is empty (leave it out instead)")
    unknown = sorted(names - FILTERS.get(spec.source, set()) - ALWAYS - extra)
    if unknown:
        takes = ", ".join(sorted(FILTERS.get(spec.source, set()))) or "none"
        raise FilterError(f"layer '{spec.id}' takes no parameter {', '.join(unknown)} "
                          f"(its filters: {takes})")  # fmt: skip


def _base_meta(found: Community, spec: LayerSpec, licence: str) -> dict[str, Any]:
    return {"layer": spec.id, "title": spec.title_en, "title_uk": spec.title_uk,
            "community": found.slug, "crs": "OGC:CRS84 (WGS 84, longitude first)",
            "licence": licence,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip


def concern_filter(
    found: Community, bbox: BBox | None, start: Any = None, stop: Any = None, **page: Any
) -> privacy.ConcernFilter:
    """The concern filter of this request: period (or `start`/`stop`), group, status, bbox."""
    if request.args.get("period"):
        try:
            period = parse_period(request.args["period"])
        except PeriodError as exc:
            raise FilterError(str(exc)) from exc
        start, stop = period.start, period.stop
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise FilterError(f"'status' must be one of {', '.join(STATUSES)}")
    written = ",".join(request.args.getlist("group"))
    codes = tuple(c.strip() for c in written.split(",") if c.strip())
    known = {c.code for c in for_community(db.session(), found.id)}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise FilterError(f"no concern category {', '.join(map(repr, unknown))} here")
    salt = hashlib.sha256(b"feature-id:" + current_app.config["SECRET_KEY"].encode())
    return privacy.ConcernFilter(found.id, start=start, stop=stop, categories=codes,
                                 status=status, bbox=bbox, id_salt=salt.hexdigest()[:16],
                                 **page)  # fmt: skip


def layer_data(
    spec: LayerSpec, found: Community, audience: str, extra: set[str] = frozenset(),
    **page: Any,
) -> LayerData:  # fmt: skip
    """The layer's whitelisted features and metadata for this request's filters.

    `page` (limit, offset, fid, start, stop) is passed to streamed sources (concerns) by
    the OGC API; in-memory sources are paged by the caller.  Raises FilterError,
    PeriodError or hotspot_layers.ParameterError for a bad filter, PermissionError when
    the caller may not have the rows.
    """
    check_names(spec, set(request.args), extra)
    bbox = parse_bbox(request.args.get("bbox"))
    sess = db.session()
    if spec.source == "concerns":
        query = concern_filter(found, bbox, **page)
        meta = _base_meta(found, spec, layer_export.DATA_LICENCE)
        meta.update(period=request.args.get("period") or "all",
                    group=",".join(query.categories) or "all", status=query.status or "all",
                    aggregation_unit="point, generalised to a "
                    f"{current_app.config['GEOAPP_PUBLIC_GRID_M']} m grid (never the true "
                    "point); sensitive categories only as counts per community",
                    k=None, generalised_to_m=current_app.config["GEOAPP_PUBLIC_GRID_M"],
                    sensitive_counts=privacy.sensitive_counts(sess, found.id))  # fmt: skip
        opener = current_app.extensions["geoapp.sessionmaker"]
        return LayerData(spec, _streamed_concerns(opener, spec, query), meta)
    if spec.source == "boundaries":
        summary = summary_by_slug(sess, found.slug)
        assert summary is not None
        geometry = boundary_geojson(sess, found.id) if summary.bbox else None
        rows = [(asdict(summary), geometry)] if geometry else []
        licence = f"{layer_export.DATA_LICENCE}; {layer_export.OSM_LICENCE}"
        meta = _base_meta(found, spec, licence)
        meta.update(period=None, aggregation_unit="community boundary", k=None)
        features = privacy.feature_texts(spec, rows, lambda p: p["katotth"])
        return LayerData(spec, layer_export.filter_bbox(features, bbox), meta)
    if spec.source == "measures":
        rows = [(p, g) for p, g in privacy.public_measures(sess, found.id) if g is not None]
        meta = _base_meta(found, spec, layer_export.DATA_LICENCE)
        meta.update(period=None, k=None, statuses=list(privacy.PUBLIC_MEASURE_STATUSES),
                    aggregation_unit="target area generalised to the "
                    f"{privacy.PUBLIC_MEASURE_CELL_M:g} m hexagons it touches")  # fmt: skip
        features = privacy.feature_texts(spec, rows, lambda p: p["public_id"])
        return LayerData(spec, layer_export.filter_bbox(features, bbox), meta)
    if spec.source == "incident_cells":
        rows, meta = incident_layers.cells_data(spec, found, audience)
    elif spec.source == "incidents":
        rows, meta = incident_layers.points_data(spec, found, audience)
    else:
        rows, meta = hotspot_layers.layer_data(spec, found, audience)
    meta = {**_base_meta(found, spec, meta.pop("licence", layer_export.DATA_LICENCE)), **meta}

    def cell_id(props: dict[str, Any]) -> str | None:
        return f"{props['i']}_{props['j']}" if props.get("i") is not None else None

    features = privacy.feature_texts(spec, rows, cell_id)
    return LayerData(spec, layer_export.filter_bbox(features, bbox), meta)


def _streamed_concerns(
    opener: Callable[[], Session], spec: LayerSpec, query: privacy.ConcernFilter
) -> Iterator[privacy.FeatureText]:
    """Concerns read in a session of their own, opened when the first byte is wanted.

    The response is streamed after the request (and its session) has ended, so the
    server-side cursor needs a connection that lives exactly as long as the stream.
    """
    with opener() as sess:
        yield from privacy.concern_texts(sess, spec, query)
