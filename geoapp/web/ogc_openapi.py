"""The OpenAPI 3.0 document of /ogc: one path per collection, with exactly its filters.

Per-collection paths (as pygeoapi writes them) let a client, and schemathesis, know which
parameters each collection takes; anything outside the schema is refused with a 400, so
the document and the server agree on what is invalid.  Partner collections appear only
in the document a partner fetches with its token, marked as needing it.
"""

from __future__ import annotations

from typing import Any

from geoapp.layers import LayerSpec, source_of
from geoapp.layers.query import STATUSES

MAX_LIMIT = 10_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
PERIOD = r"^[0-9]{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$"
_F = {
    "name": "f",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "html"]},
}
_FILTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "bbox": {
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
    },
    "period": {"schema": {"type": "string", "pattern": PERIOD}},
    "group": {"schema": {"type": "string", "pattern": r"^[a-z0-9_-]+(,[a-z0-9_-]+)*$"}},
    "status": {"schema": {"type": "string", "enum": list(STATUSES)}},
    "size": {"schema": {"type": "integer", "enum": [250, 500, 1000]}},
    "from": {"schema": {"type": "string", "format": "date"}},
    "to": {"schema": {"type": "string", "format": "date"}},
}
_PAGE = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0},
    },
]
_INSTANT = r"(\.\.|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?)"
_DATETIME = {
    "name": "datetime",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "pattern": f"^{_INSTANT}(/{_INSTANT})?$"},
}
_JSON = {
    "application/json": {"schema": {"type": "object"}},
    "text/html": {"schema": {"type": "string"}},
}
_GEOJSON = {
    "application/geo+json": {"schema": {"type": "object"}},
    "text/html": {"schema": {"type": "string"}},
}
_OAS = {"application/vnd.oai.openapi+json": {"schema": {"type": "object"}}}
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


def _responses(ok: dict[str, Any], secured: bool) -> dict[str, Any]:
    out = {
        "200": {"description": "OK", "content": ok},
        "400": {"description": "A parameter is wrong", "content": _PROBLEM},
        "404": {"description": "Not found, or not yours to see", "content": _PROBLEM},
    }
    if secured:
        out["401"] = {"description": "The bearer token is unknown or expired", "content": _PROBLEM}
    return out


def _op(op_id: str, summary: str, params: list[dict], ok: dict, secured: bool) -> dict:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "parameters": params,
        "responses": _responses(ok, secured),
    }
    # Optional everywhere: without the token a partner collection is not an error to fix
    # but a collection that does not exist for the caller (404, as the house rule says).
    op["security"] = [{}, {"partnerToken": []}]
    if secured:
        op["description"] = "Partner layer: visible only with a partner token of the community."
    return op


def openapi_document(collections: list[tuple[str, LayerSpec, str]], base: str) -> dict:
    """The document for the collections a caller may read (id, layer, caller's audience)."""
    root = base.rstrip("/")
    paths: dict[str, Any] = {
        "/": {"get": _op("landing", "Landing page", [_F], _JSON, False)},
        "/conformance": {"get": _op("conformance", "Conformance classes", [_F], _JSON, False)},
        "/collections": {"get": _op("collections", "Collections", [_F], _JSON, False)},
        "/openapi": {"get": _op("openapi", "This document", [], _OAS, False)},
    }
    for cid, spec, _audience in collections:
        secured = spec.audience != "public"
        names = sorted(source_of(spec).accepts)
        filters = [
            {"name": n, "in": "query", "required": False, **_FILTER_SCHEMAS[n]} for n in names
        ]
        extra = [_DATETIME] if source_of(spec).time_axis else []
        key = cid.replace(".", "_")
        paths[f"/collections/{cid}"] = {
            "get": _op(f"describe_{key}", f"{spec.title_en}: the collection", [_F], _JSON, secured)
        }
        paths[f"/collections/{cid}/items"] = {
            "get": _op(
                f"items_{key}",
                f"{spec.title_en}: features",
                [_F, *_PAGE, *filters, *extra],
                _GEOJSON,
                secured,
            )
        }
        item_filters = [
            p for p in filters if p["name"] in ("period", "size", "from", "to", "group")
        ]
        paths[f"/collections/{cid}/items/{{featureId}}"] = {
            "get": _op(
                f"item_{key}",
                f"{spec.title_en}: one feature",
                [
                    {
                        "name": "featureId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                    },
                    _F,
                    *item_filters,
                ],
                _GEOJSON,
                secured,
            )
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "geoapp — OGC API Features",
            "version": "1.0.0",
            "description": "Community safety map layers; partner layers need a token.",
            "license": {"name": "CC BY 4.0; boundaries © OpenStreetMap contributors, ODbL 1.0"},
        },
        "servers": [{"url": root}],
        "paths": paths,
        "components": {"securitySchemes": {"partnerToken": {"type": "http", "scheme": "bearer"}}},
    }
