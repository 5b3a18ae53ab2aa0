"""The JSON API (v1): communities, point location, layers as GeoJSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user

from geoapp import db, privacy
from geoapp.i18n import current_language
from geoapp.services import layer_export
from geoapp.services.categories import for_community
from geoapp.services.communities import get_by_slug, list_communities, summary_by_slug
from geoapp.services.concerns import ConcernInvalid, Report, nearby, report_concern, support
from geoapp.services.geocode import geocode, reverse
from geoapp.services.locate import locate
from geoapp.web import layer_requests
from geoapp.web.access import layer_audience, partner_token
from geoapp.web.concern_messages import message
from geoapp.web.links import external_url
from geoapp.web.problems import problem
from geoapp.web.security import address_key, limit_key, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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
    if any(ord(ch) < 32 for ch in query):
        return problem(400, "Invalid parameter", "'q' contains control characters", parameter="q")
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


@bp.get("/communities/<slug>/categories")
def categories(slug: str) -> Response | tuple[Response, int]:
    """The concern categories a community offers (code, names, domain, sensitive, handling)."""
    found = get_by_slug(db.session(), slug)
    if found is None:
        return problem(404, "Not Found", f"no community '{slug}'")
    items = [
        {"code": c.code, "name_uk": c.name_uk, "name_en": c.name_en, "domain": c.domain,
         "sensitive": c.sensitive, "handling": c.handling, "notice_uk": c.notice_uk,
         "notice_en": c.notice_en, "radius_m": c.radius_m}
        for c in for_community(db.session(), found.id)
    ]  # fmt: skip
    return jsonify({"community": found.slug, "categories": items})


def _report_from_json(body: dict) -> Report:
    contact = body.get("contact") if isinstance(body.get("contact"), dict) else {}

    def number(key: str) -> float | None:
        value = body.get(key)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    def string(mapping: dict, key: str) -> str:
        value = mapping.get(key)
        return value.strip() if isinstance(value, str) else ""

    return Report(
        category=string(body, "category"), description=string(body, "description"),
        lon=number("lon"), lat=number("lat"), address=string(body, "address") or None,
        located_by=string(body, "located_by") or "pin", client_token=string(body, "client_token"),
        contact_name=string(contact, "name"), contact_phone=string(contact, "phone"),
        contact_email=string(contact, "email"), consent=contact.get("consent") is True,
    )  # fmt: skip


@bp.post("/communities/<slug>/concerns")
@limiter.limit(lambda: current_app.config["GEOAPP_REPORT_LIMIT"])
def report(slug: str) -> tuple[Response, int]:
    """Store a resident's concern; the same `client_token` again returns the first result."""
    community = get_by_slug(db.session(), slug)
    if community is None:
        return problem(404, "Not Found", f"no community '{slug}'")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "Bad Request", "send a JSON object")
    try:
        receipt = report_concern(db.session(), community, _report_from_json(body),
                                 current_app.config["GEOAPP_PUBLIC_GRID_M"],
                                 current_language(),
                                 current_app.extensions.get("geoapp.contact_keys"))  # fmt: skip
    except ConcernInvalid as exc:
        errors = [{"field": f, "code": c, "message": message(c)} for f, c in exc.errors.items()]
        extra = {"errors": errors}
        if exc.suggestion:
            extra["suggested_community"] = exc.suggestion
        if exc.notice:
            extra["notice"] = exc.notice
        return problem(422, "Unprocessable Content", errors[0]["message"], **extra)
    body = {"public_id": receipt.public_id, "short_code": receipt.short_code,
            "status": receipt.status,
            "tracking_url": external_url("public.track", token=receipt.tracking_token),
            "contact_kept": receipt.contact_kept}  # fmt: skip
    if not receipt.contact_kept:
        body["notice"] = message("contact_lost")
    return jsonify(body), 201 if receipt.created else 200


@bp.get("/communities/<slug>/concerns/nearby")
def concerns_nearby(slug: str) -> Response | tuple[Response, int]:
    """Accepted concerns of `category` near `lon`, `lat`: before reporting, say "me too"."""
    community = get_by_slug(db.session(), slug)
    if community is None:
        return problem(404, "Not Found", f"no community '{slug}'")
    point = _point()
    if not isinstance(point[0], float):
        return point  # type: ignore[return-value]
    items = nearby(db.session(), community, request.args.get("category", ""), *point)
    return jsonify({"community": slug, "concerns": items})


def _support_key() -> str:
    """One address's "me too" for one concern: a fresh client token is not a new person."""
    public_id = (request.view_args or {}).get("public_id", "")[:64]
    return limit_key("support", address_key(request.remote_addr), public_id)


@bp.post("/communities/<slug>/concerns/<public_id>/support")
@limiter.limit(lambda: current_app.config["GEOAPP_REPORT_LIMIT"])
@limiter.limit(lambda: current_app.config["GEOAPP_SUPPORT_LIMIT"], key_func=_support_key,
               deduct_when=lambda response: response.status_code == 200)  # fmt: skip
def concern_support(slug: str, public_id: str) -> Response | tuple[Response, int]:
    """Add "me too" to an accepted concern, once per `client_token`."""
    community = get_by_slug(db.session(), slug)
    body = request.get_json(silent=True)
    if community is None:
        return problem(404, "Not Found", f"no community '{slug}'")
    if not isinstance(body, dict) or not isinstance(body.get("client_token"), str):
        return problem(400, "Bad Request", "send a JSON object with 'client_token'")
    try:
        count = support(db.session(), community, public_id, body["client_token"])
    except ConcernInvalid:
        return problem(422, "Unprocessable Content", message("invalid_token"),
                       errors=[{"field": "client_token", "code": "invalid_token"}])  # fmt: skip
    if count is None:
        return problem(404, "Not Found", "no open concern with this id here")
    return jsonify({"public_id": public_id, "support_count": count})


@bp.get("/communities/<slug>/layers/<layer>.geojson")
def layer_geojson(slug: str, layer: str) -> Response | tuple[Response, int]:
    """A layer of one community as RFC 7946 GeoJSON with a metadata member (`layer_file`)."""
    return layer_file(slug, layer, "geojson")


@bp.get("/communities/<slug>/layers/<layer>.<any(csv, gpkg):fmt>")
def layer_file(slug: str, layer: str, fmt: str) -> Response | tuple[Response, int]:
    """A layer of one community as GeoJSON, CSV or GeoPackage, with its metadata.

    What the caller receives depends on who they are (`layer_audience`); a layer they may
    not see answers 404 like a layer that does not exist.  Non-exportable layers (the
    analysts' `incidents`, `concern_gaps`) are served to the staff map as GeoJSON only.
    The body is streamed; when it has gone, its sha256 is written to the audit trail.
    """
    spec = current_app.extensions["geoapp.layers"].get(layer)
    community = get_by_slug(db.session(), slug)
    if spec is None or community is None:
        return problem(404, "Not Found", f"no layer '{layer}' in '{slug}'")
    audience = layer_audience(community.id)  # a bad token is a 401 (web's one handler)
    if not privacy.may_see(spec, audience):
        return problem(404, "Not Found", f"no layer '{layer}' in '{slug}'")
    if fmt != "geojson" and not spec.exportable:
        return problem(404, "Not Found", f"layer '{layer}' is not exported as {fmt}")
    data = layer_requests.data(spec, community, audience)  # LayerError: 400 or 404
    return export_response(data, fmt, community.id, audience)


def export_response(data: layer_export.LayerData, fmt: str, community_id: int,
                    audience: str) -> Response:  # fmt: skip
    """Stream `data` in `fmt`; the audit event (with the body's sha256) follows the last byte."""
    filters = {k: v for k, v in request.args.items() if k != "lang"}
    sessionmaker = current_app.extensions["geoapp.sessionmaker"]
    body = layer_export.audited(data, fmt, recipient(audience), community_id, filters,
                                sessionmaker)  # fmt: skip
    response = Response(body, mimetype=layer_export.FORMATS[fmt])
    name = f"{data.metadata.get('community', 'geoapp')}-{data.spec.id}.{fmt}"
    # GeoJSON is read in place (maps, a browser tab); CSV and GeoPackage are files to keep.
    disposition = "inline" if fmt == "geojson" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    if fmt != "geojson":  # CSV and GeoPackage carry it too: as a header, and in the gpkg
        response.headers["Geoapp-Metadata"] = json.dumps(data.metadata, default=str)
    response.headers["Cache-Control"] = "private, no-store" if audience != "public" else "no-cache"
    return response


def recipient(audience: str) -> layer_export.Recipient:
    """Who is receiving an export, for the audit trail: a staff member, a partner, the public."""
    addr = request.remote_addr
    if audience in ("staff", "analyst") and current_user.is_authenticated:
        user = current_user.user
        return layer_export.Recipient(user.email, user.id, audience, addr)
    if audience == "partner":
        row = partner_token()
        if row is not None:
            return layer_export.Recipient(f"token:{row.prefix} ({row.partner})", None,
                                          audience, addr)  # fmt: skip
    return layer_export.Recipient("public", None, audience, None)  # no address kept (rule 6)
