"""Vector tiles over HTTP: /tiles/<layer>/<z>/<x>/<y>.mvt, cached in Redis, with ETags.

Whose data a tile holds: `?community=<slug>` names one community (404 when the caller
may not see the layer there); without it, every community the caller may see the layer
in (the pilot communities for public layers; for analysts, their own communities).  A
tile of nothing is an empty 200 body, which map libraries draw as nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from geoapp import db, layers, privacy
from geoapp.layers import LayerError, LayerSpec
from geoapp.services import incident_cells, tiles
from geoapp.services.communities import get_by_slug, list_communities
from geoapp.web.access import layer_audience, partner_token
from geoapp.web.problems import problem

bp = Blueprint("tiles", __name__, url_prefix="/tiles")
MEDIA = "application/vnd.mapbox-vector-tile"


def _communities(spec: LayerSpec) -> list[int] | None:
    """The community ids this caller's tile covers; None when it may see none of them."""
    sess = db.session()
    slug = request.args.get("community")
    if slug is not None:
        community = get_by_slug(sess, slug)
        if community is None or not privacy.may_see(spec, layer_audience(community.id)):
            return None
        return [community.id]
    candidates = {c.id for c in list_communities(sess, pilot_only=True)}
    if current_user.is_authenticated:
        candidates |= set(current_user.community_ids)
    token = partner_token()
    if token is not None:
        candidates |= {c.id for c in token.communities}
    ids = sorted(c for c in candidates if privacy.may_see(spec, layer_audience(c)))
    return ids or None


def _filter(spec: LayerSpec) -> tiles.TileFilter:
    """`period` and `group` of incident tiles, read by the layers' one grammar."""
    q = layers.parse(spec, {k: v for k, v in request.args.items() if k != "community"})
    start = stop = category_id = None
    if q.period is not None:
        start, stop = q.period.start, q.period.stop
    if q.group:
        category_id = incident_cells.group_ids(db.session()).get(q.group)
        if category_id is None:
            raise LayerError(400, f"no incident group '{q.group}'")
    return tiles.TileFilter(start, stop, category_id)


@bp.get("/<layer>/<int:z>/<int:x>/<int:y>.mvt")
def tile(layer: str, z: int, x: int, y: int) -> Response | tuple[Response, int]:
    """One Mapbox Vector Tile of `layer`; 304 when the client's ETag still holds."""
    spec = current_app.extensions["geoapp.layers"].get(layer)
    source = layers.source_of(spec).tiles if spec is not None else None
    if spec is None or source is None:
        return problem(404, "Not Found", f"no tiled layer '{layer}'")
    unknown = sorted(set(request.args) - {"community", "lang"} - source.filters)
    if unknown:
        return problem(400, "Bad Request", f"unknown parameter {', '.join(unknown)}")
    try:
        tiles.check_address(z, x, y)
    except tiles.TileError as exc:
        return problem(400, "Bad Request", str(exc))
    only = _filter(spec)  # LayerError and BadTokenError: the one handler answers
    ids = _communities(spec)
    if ids is None:
        return problem(404, "Not Found", f"no tiled layer '{layer}'")
    sess = db.session()
    cache = current_app.extensions["geoapp.cache"]
    key = tiles.cache_key(spec, z, x, y, ids, tiles.data_version(sess, source, ids), only)
    body = cache.get(key)
    if body is None:
        body = tiles.render(sess, spec, source, z, x, y, ids, only)
        cache.setex(key, tiles.CACHE_SECONDS, body)
    response = Response(bytes(body), mimetype=MEDIA)
    response.set_etag(tiles.etag(bytes(body)))
    public = spec.audience == "public"
    response.headers["Cache-Control"] = ("public" if public else "private") + ", max-age=60"
    response.vary.update(("Cookie", "Authorization"))
    return response.make_conditional(request)
