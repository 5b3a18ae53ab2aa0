"""Public pages: the list of communities, a community's map, the health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_babel import gettext as _

from geoapp import db
from geoapp.i18n import current_language, localized
from geoapp.services.communities import boundary_geojson, get_by_slug, list_communities
from geoapp.web.maps import community_map

bp = Blueprint("public", __name__)

# Display simplification of boundaries on the map, in metres: invisible at
# community zoom, and it keeps Crimea's 23,000-vertex outline light on a phone.
DISPLAY_TOLERANCE_M = 15.0


@bp.get("/")
def index() -> str:
    """The pilot communities, each linking to its map."""
    communities = list_communities(db.session(), pilot_only=True)
    return render_template("index.html", communities=communities)


@bp.get("/c/<slug>")
def community(slug: str) -> str:
    """A community's public map: its boundary over the base map."""
    sess = db.session()
    found = get_by_slug(sess, slug)
    if found is None:
        abort(404)
    summary = list_communities(sess, slug=slug)[0]
    spec = current_app.extensions["geoapp.layers"]["boundaries"]
    language = current_language()
    boundary = (
        boundary_geojson(sess, found.id, DISPLAY_TOLERANCE_M) if found.geom is not None else None
    )
    props = {
        "katotth": summary.katotth, "name_uk": summary.name_uk, "name_en": summary.name_en,
        "level": summary.level,
    }  # fmt: skip
    props["name"] = localized(summary.name_uk, summary.name_en)
    rendered = community_map(
        summary,
        boundary,
        spec,
        {k: props[k] for k in spec.properties} | {"name": props["name"]},
        language,
        {
            "basemap": _("Base map"),
            "fullscreen": _("Full screen"),
            "fullscreen_exit": _("Exit full screen"),
        },
    )
    return render_template("community.html", community=summary, map=rendered)


@bp.get("/healthz")
def healthz() -> tuple[dict, int]:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    if db.is_reachable(db.engine()):
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "unavailable", "database": "unreachable"}, 503
