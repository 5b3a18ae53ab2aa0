"""The JSON API (v1): communities, point location, layers as GeoJSON."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from geoapp import db, privacy
from geoapp.services.communities import boundary_geojson, list_communities, summary_by_slug
from geoapp.services.geocode import geocode, reverse
from geoapp.services.locate import locate
from geoapp.web.problems import problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"


def _coordinate(name: str, low: float, high: float) -> float | tuple[Response, int]:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return problem(400, "Missing parameter", f"'{name}' is required", parameter=name)
    try:
        value = float(raw)
    except ValueError:
        return problem(400, "Invalid parameter", f"'{name}' must be a number", parameter=name)
    if not math.isfinite(value) or not low <= value <= high:
        return problem(
            400, "Invalid parameter", f"'{name}' must be between {low} and {high}",
            parameter=name,
        )  # fmt: skip
    return value


def _point() -> tuple[float, float] | tuple[Response, int]:
    """`lon` and `lat` from the query string, or the problem response for the first bad one."""
    lon = _coordinate("lon", -180, 180)
    if not isinstance(lon, float):
        return lon
    lat = _coordinate("lat", -90, 90)
    if not isinstance(lat, float):
        return lat
    return lon, lat


@bp.get("/communities")
def communities() -> Response:
    """Every community with its bbox and whether it has a boundary; `?pilot=1` for the pilots."""
    pilot_only = request.args.get("pilot") in ("1", "true")
    items = [
        {
            **{k: v for k, v in asdict(c).items() if k != "id"},
            "bbox": list(c.bbox) if c.bbox else None,
            "has_boundary": c.bbox is not None,
        }
        for c in list_communities(db.session(), pilot_only=pilot_only)
    ]
    return jsonify({"communities": items, "count": len(items)})


@bp.get("/locate")
def locate_point() -> Response | tuple[Response, int]:
    """Every community containing the point `lon`, `lat` (WGS 84), smallest first."""
    point = _point()
    if not isinstance(point[0], float):
        return point  # type: ignore[return-value]
    lon, lat = point
    found = locate(db.session(), lon, lat)
    return jsonify({"lon": lon, "lat": lat, "communities": [asdict(c) for c in found]})


MAX_QUERY = 200


@bp.get("/geocode")
def geocode_address() -> Response | tuple[Response, int]:
    """Ranked places for an address typed in one community: `q`, `community`, `limit`."""
    query = (request.args.get("q") or "").strip()
    if not query:
        return problem(400, "Missing parameter", "'q' (the address) is required", parameter="q")
    if len(query) > MAX_QUERY:
        return problem(400, "Invalid parameter", f"'q' is longer than {MAX_QUERY} characters",
                       parameter="q")  # fmt: skip
    if not any(("а" <= ch.lower() <= "ї") or ch.lower() in "іїєґ" or ("a" <= ch.lower() <= "z")
               for ch in query):  # fmt: skip
        return problem(400, "Invalid parameter",
                       "'q' must contain Ukrainian or Latin letters", parameter="q")  # fmt: skip
    slug = request.args.get("community") or ""
    found = summary_by_slug(db.session(), slug) if slug else None
    if found is None:
        return problem(404 if slug else 400, "Unknown community" if slug else "Missing parameter",
                       f"no community '{slug}'" if slug else "'community' (a slug) is required",
                       parameter="community")  # fmt: skip
    limit = request.args.get("limit", 5, type=int)
    if not 1 <= limit <= 20:
        return problem(400, "Invalid parameter", "'limit' must be 1 to 20", parameter="limit")
    fallback = current_app.extensions.get("geoapp.geocoder")
    hits = geocode(db.session(), query, found.id, limit, fallback=fallback)
    return jsonify({"query": query, "community": found.slug,
                    "candidates": [asdict(h) for h in hits]})  # fmt: skip


@bp.get("/geocode/reverse")
def geocode_reverse() -> Response | tuple[Response, int]:
    """The nearest known address to `lon`, `lat` (within 500 m)."""
    point = _point()
    if not isinstance(point[0], float):
        return point  # type: ignore[return-value]
    lon, lat = point
    hit = reverse(db.session(), lon, lat)
    return jsonify({"lon": lon, "lat": lat, "nearest": asdict(hit) if hit else None})


@bp.get("/communities/<slug>/layers/<layer>.geojson")
def layer_geojson(slug: str, layer: str) -> Response | tuple[Response, int]:
    """A public layer of one community as RFC 7946 GeoJSON with a metadata member."""
    specs = current_app.extensions["geoapp.layers"]
    spec = specs.get(layer)
    if spec is None or not privacy.may_see(spec, "public"):
        return problem(404, "Not Found", f"no layer '{layer}'")
    sess = db.session()
    found = summary_by_slug(sess, slug)
    if found is None:
        return problem(404, "Not Found", f"no community '{slug}'")
    geometry = boundary_geojson(sess, found.id) if found.bbox else None
    body = privacy.feature_collection(
        spec,
        [(asdict(found), geometry)] if geometry else [],
        community=found.slug,
        licence=OSM_ATTRIBUTION,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    return response
