"""OGC API – Features, Part 1 Core, at /ogc: what QGIS and GDAL's OAPIF driver read.

A collection is one exportable layer of one community, named `<slug>.<layer>` (slugs and
layer ids hold no dot, so the name splits one way only), listed when the caller may see
it: public layers of the pilot communities for everyone, partner layers of a partner's
communities with its token (`Authorization: Bearer`).  A collection the caller may not
see answers 404, like one that does not exist.  Items come from the same sources and
filters as the exports (`geoapp.layers`), so a layer is written once; each page of items
is audited like an export.  JSON by default, HTML with `f=html` or a browser's Accept.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for

from geoapp import db, layers, privacy
from geoapp.i18n import current_language
from geoapp.layers import LayerError, LayerSpec
from geoapp.models.community import Community
from geoapp.services import layer_export
from geoapp.services.communities import CommunitySummary, get_by_slug, list_communities
from geoapp.web import layer_requests
from geoapp.web.access import layer_audience, partner_token
from geoapp.web.api import recipient
from geoapp.web.hostile_input import bounded_int
from geoapp.web.links import external_url
from geoapp.web.ogc_openapi import CONFORMANCE, MAX_LIMIT, openapi_document
from geoapp.web.problems import problem

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
DEFAULT_LIMIT = 100
PAGING = {"limit", "offset", "datetime", "f"}
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")


class OgcError(LayerError):
    """A request the OGC API cannot answer as asked (a 400 problem, by the one handler)."""

    def __init__(self, detail: str) -> None:
        """`detail` says what was wrong and how to write it."""
        super().__init__(400, detail)


def _html() -> bool:
    """HTML when asked with `f=html`, or by a browser that prefers it; JSON otherwise."""
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise OgcError("'f' must be json or html")
        return f == "html"
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/geo+json", "text/html"]
    )
    return best == "text/html"


def _answer(body: dict[str, Any], title: str, media: str = "application/json") -> Response:
    if _html():
        return Response(
            render_template(
                "ogc.html",
                body=body,
                title=title,
                pretty=json.dumps(body, ensure_ascii=False, indent=2),
            ),
            mimetype="text/html",
        )
    response = current_app.json.response(body)
    response.mimetype = media
    return response


def _link(endpoint: str, rel: str, media: str, title: str = "", **values: Any) -> dict:
    link = {"href": external_url(endpoint, **values), "rel": rel, "type": media}
    return {**link, "title": title} if title else link


def _only(allowed: set[str]) -> None:
    empty = sorted(n for n in request.args if not request.args.get(n))
    if empty:
        raise OgcError(f"parameter {', '.join(empty)} is empty (leave it out instead)")
    unknown = sorted(set(request.args) - allowed - {"lang"})
    if unknown:
        raise OgcError(f"unknown parameter {', '.join(unknown)}")


def visible_collections() -> list[tuple[CommunitySummary, LayerSpec, str]]:
    """(community, layer, audience) of every collection this caller may read."""
    sess = db.session()
    token = partner_token()
    own = {c.id for c in token.communities} if token is not None else set()
    found = {c.id: c for c in list_communities(sess, pilot_only=True)}
    if own:
        found.update({c.id: c for c in list_communities(sess, ids=sorted(own))})
    specs = current_app.extensions["geoapp.layers"]
    out = []
    for community in found.values():
        audience = layer_audience(community.id)
        for spec in specs.values():
            if spec.exportable and privacy.may_see(spec, audience):
                out.append((community, spec, audience))
    return out


def _collection(community: CommunitySummary, spec: LayerSpec) -> dict[str, Any]:
    cid = f"{community.slug}.{spec.id}"
    lang = current_language()
    name = community.name_en if lang == "en" else community.name_uk
    bbox = list(community.bbox) if community.bbox else [22.1, 44.3, 40.2, 52.4]
    return {
        "id": cid,
        "title": f"{spec.title(lang)} — {name}",
        "description": f"{spec.title_en} of {community.name_en} ({community.slug}); "
        f"properties: {', '.join(spec.properties)}",
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {
            "spatial": {"bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
        },
        "links": [
            _link("ogc.collection", "self", "application/json", collection=cid),
            _link("ogc.items", "items", "application/geo+json", "Features", collection=cid),
            _link("ogc.items", "items", "text/html", "Features (HTML)", collection=cid, f="html"),
        ],
    }


@bp.get("/")
def landing() -> Response:
    """The landing page: where the API description, conformance and collections are."""
    _only({"f"})
    body = {
        "title": "geoapp — OGC API Features",
        "description": "Community safety map layers (Community Prosecutor pilot): public "
        "layers for everyone, partner layers with a partner token.",
        "links": [
            _link("ogc.landing", "self", "application/json"),
            _link("ogc.landing", "alternate", "text/html", f="html"),
            _link("ogc.openapi", "service-desc", "application/vnd.oai.openapi+json;version=3.0"),
            _link("ogc.conformance", "conformance", "application/json"),
            _link("ogc.collections", "data", "application/json"),
        ],
    }
    return _answer(body, body["title"])


@bp.get("/conformance")
def conformance() -> Response:
    """The conformance classes implemented."""
    _only({"f"})
    return _answer({"conformsTo": CONFORMANCE}, "Conformance")


@bp.get("/openapi")
def openapi() -> Response:
    """The OpenAPI 3.0 document, listing the collections this caller may read."""
    _only({"f"})
    ids = [(f"{c.slug}.{s.id}", s, a) for c, s, a in visible_collections()]
    response = current_app.json.response(openapi_document(ids, url_for("ogc.landing")))
    response.mimetype = "application/vnd.oai.openapi+json"
    return response


@bp.get("/collections")
def collections() -> Response:
    """Every collection the caller may read."""
    _only({"f"})
    body = {
        "links": [_link("ogc.collections", "self", "application/json")],
        "collections": [_collection(c, s) for c, s, _a in visible_collections()],
    }
    return _answer(body, "Collections")


def _find(collection: str) -> tuple[Community, LayerSpec, str] | None:
    """The community, layer and audience of a collection id, None when not visible."""
    slug, _dot, layer = collection.partition(".")
    spec = current_app.extensions["geoapp.layers"].get(layer)
    community = get_by_slug(db.session(), slug)
    if spec is None or community is None or not spec.exportable:
        return None
    audience = layer_audience(community.id)
    if not privacy.may_see(spec, audience):
        return None
    return community, spec, audience


@bp.get("/collections/<collection>")
def collection(collection: str) -> Response | tuple[Response, int]:
    """One collection's description."""
    _only({"f"})
    found = _find(collection)
    if found is None:
        return problem(404, "Not Found", f"no collection '{collection}'")
    community, spec, _audience = found
    summary = list_communities(db.session(), slug=community.slug)[0]
    return _answer(_collection(summary, spec), spec.title(current_language()))


def _limit() -> tuple[int, int]:
    def integer(name: str, default: int, low: int, high: int) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        value = bounded_int(raw, low, high)  # "²".isdigit(), but int("²") fails
        if value is None:
            raise OgcError(f"'{name}' must be an integer from {low} to {high}")
        return value

    return integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), integer("offset", 0, 0, 10**9)


def _features(
    community: Community,
    spec: LayerSpec,
    audience: str,
    limit: int,
    offset: int,
    fid: str | None = None,
) -> tuple[layer_export.LayerData, list[privacy.FeatureText], int]:
    """One page of a collection's features, and how many match."""
    source = layers.source_of(spec)
    if request.args.get("datetime") is not None and not source.time_axis:
        raise OgcError(f"collection '{spec.id}' has no time axis; use 'period'")
    if source.streams:
        data = layer_requests.data(spec, community, audience, PAGING, limit=limit,
                                   offset=offset, fid=fid)  # fmt: skip
        rows = list(data.features)
        if fid is not None:
            return data, rows, len(rows)
        ctx = layer_requests.context(community, audience)
        matched = source.matched(ctx, spec, layers.parse(spec, request.args, PAGING))
        return data, rows, len(rows) if matched is None else matched
    data = layer_requests.data(spec, community, audience, PAGING)
    every = [r for r in data.features if fid is None or r[0] == fid]
    return data, every[offset : offset + limit], len(every)


def _feature(row: privacy.FeatureText) -> dict[str, Any]:
    fid, props, geometry = row
    return {
        "type": "Feature",
        "id": fid,
        "properties": json.loads(props),
        "geometry": json.loads(geometry) if geometry else None,
    }


def _audit(
    data: layer_export.LayerData, body: bytes, community_id: int, audience: str, features: int
) -> None:
    """An OGC page is an export too: audited with the sha256 of its body."""
    filters = {k: v for k, v in request.args.items() if k != "lang"}
    with current_app.extensions["geoapp.sessionmaker"]() as sess:
        layer_export.record(
            sess,
            data.spec.id,
            "ogc",
            recipient(audience),
            community_id,
            filters,
            layer_export.Tally.of(body, features),
            complete=True,
        )
        sess.commit()


@bp.get("/collections/<collection>/items")
def items(collection: str) -> Response | tuple[Response, int]:
    """A page of features: bbox, limit, offset, datetime and the layer's own filters."""
    found = _find(collection)
    if found is None:
        return problem(404, "Not Found", f"no collection '{collection}'")
    community, spec, audience = found
    html = _html()
    limit, offset = _limit()
    data, rows, matched = _features(community, spec, audience, limit, offset)
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f")}
    media = "text/html" if html else "application/geo+json"
    links = [
        _link("ogc.items", "self", media, collection=collection, **request.args),
        _link("ogc.collection", "collection", "application/json", collection=collection),
    ]
    if offset + len(rows) < matched:
        links.append(
            _link(
                "ogc.items",
                "next",
                media,
                collection=collection,
                offset=offset + limit,
                **args,
                **({"f": "html"} if html else {}),
            )
        )
    if offset > 0:
        links.append(
            _link(
                "ogc.items",
                "prev",
                media,
                collection=collection,
                offset=max(0, offset - limit),
                **args,
                **({"f": "html"} if html else {}),
            )
        )
    body = {
        "type": "FeatureCollection",
        "features": [_feature(r) for r in rows],
        "numberMatched": matched,
        "numberReturned": len(rows),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "metadata": data.metadata,
        "links": links,
    }
    response = _answer(body, spec.title(current_language()), "application/geo+json")
    _audit(data, response.get_data(), community.id, audience, len(rows))
    return response


@bp.get("/collections/<collection>/items/<fid>")
def item(collection: str, fid: str) -> Response | tuple[Response, int]:
    """One feature by its id."""
    found = _find(collection)
    if found is None:
        return problem(404, "Not Found", f"no collection '{collection}'")
    community, spec, audience = found
    _only({"f"} | ({"period", "size", "from", "to", "group"} & layers.source_of(spec).accepts))
    _html()
    data, rows, _n = _features(community, spec, audience, 1, 0, fid=fid)
    if not rows:
        return problem(404, "Not Found", f"no feature '{fid}' in '{collection}'")
    body = {
        **_feature(rows[0]),
        "links": [
            _link("ogc.item", "self", "application/geo+json", collection=collection, fid=fid),
            _link("ogc.collection", "collection", "application/json", collection=collection),
        ],
    }
    response = _answer(body, spec.title(current_language()), "application/geo+json")
    _audit(data, response.get_data(), community.id, audience, 1)
    return response
