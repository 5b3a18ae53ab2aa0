"""What leaves the building: the one place that shapes features for output.

Every layer, export and API response builds its GeoJSON features here, so a
property that is not on the layer's whitelist cannot reach a browser or a
partner by accident.  Concerns leave only through `public_concerns`: accepted
ones, at their generalised point, never sensitive, never the resident's text or
contact (sensitive categories only as counts).  Incidents leave as counts per fixed
cell and period, with the k-suppression decision applied for everyone but analysts;
individual incidents only to analysts of their community.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.layers import LayerSpec
from geoapp.services import incident_cells
from geoapp.services.incident_cells import CellQuery, Period

AUDIENCE_RANK = {"public": 0, "partner": 1, "staff": 2, "analyst": 3}


def may_see(spec: LayerSpec, audience: str) -> bool:
    """True when a caller of `audience` may receive this layer."""
    return AUDIENCE_RANK[audience] >= AUDIENCE_RANK[spec.audience]


def feature(spec: LayerSpec, properties: Mapping[str, Any], geometry_json: str | None) -> dict:
    """One GeoJSON feature carrying only the layer's whitelisted properties."""
    return {
        "type": "Feature",
        "properties": {k: properties.get(k) for k in spec.properties},
        "geometry": json.loads(geometry_json) if geometry_json else None,
    }


def feature_collection(
    spec: LayerSpec, rows: Iterable[tuple[Mapping[str, Any], str | None]], **metadata: Any
) -> dict:
    """A FeatureCollection of whitelisted features with a metadata member."""
    return {
        "type": "FeatureCollection",
        "features": [feature(spec, props, geom) for props, geom in rows],
        "metadata": {"layer": spec.id, **metadata},
    }


def public_concerns(
    session: Session, community_id: int, status: str | None = None
) -> list[tuple[dict[str, Any], str]]:
    """(properties, GeoJSON geometry) of the concerns the public may see."""
    rows = session.execute(
        sql.load("public_concerns"), {"community_id": community_id, "status": status}
    ).mappings()
    return [({k: v for k, v in row.items() if k != "geometry"}, row["geometry"]) for row in rows]


def sensitive_counts(session: Session, community_id: int) -> list[dict[str, Any]]:
    """Accepted concerns of sensitive categories, counted per community, never located."""
    rows = session.execute(sql.load("public_sensitive_counts"), {"community_id": community_id})
    return [dict(row) for row in rows.mappings()]


def incident_cell_rows(
    session: Session, query: CellQuery, audience: str
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """Cell counts for `audience`: exact for analysts, suppressed for everyone else."""
    return incident_cells.cells(session, query, exact=audience == "analyst")


# An analyst's map shows at most this many individual points; beyond it the cells tell more.
MAX_POINTS = 20_000


def incident_points(
    session: Session, community_id: int, period: Period | None, category_id: int | None,
    audience: str,
) -> list[tuple[dict[str, Any], str]]:  # fmt: skip
    """Individual incidents, for analysts only (anyone else gets a PermissionError)."""
    if audience != "analyst":
        raise PermissionError("individual incidents are for analysts only")
    start = stop = None
    if period is not None:
        start, stop = period.start, period.stop
    rows = session.execute(sql.load("incident_points"), {
        "community_id": community_id, "start": start, "stop": stop,
        "category_id": category_id, "limit": MAX_POINTS})  # fmt: skip
    return [
        ({k: v for k, v in r.items() if k != "geometry"}, r["geometry"]) for r in rows.mappings()
    ]
