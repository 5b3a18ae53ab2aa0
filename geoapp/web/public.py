"""Public pages: the communities, a community's map, the privacy notice, the health check."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import escape

from geoapp import db, privacy
from geoapp.i18n import current_language
from geoapp.layers import LayerSpec
from geoapp.layers.sources import concerns as concern_source
from geoapp.layers.sources import measures as measure_source
from geoapp.services.communities import (
    CommunitySummary,
    boundary_geojson,
    list_communities,
    summary_by_slug,
)
from geoapp.services.concerns import tracked
from geoapp.web.concern_messages import message, public_status_names
from geoapp.web.incident_filter import filter_options
from geoapp.web.maps import community_map
from geoapp.web.planning_messages import kind_names, status_names

bp = Blueprint("public", __name__)

# Display simplification of boundaries on the map, in metres: invisible at
# community zoom, and it keeps Crimea's 23,000-vertex outline light on a phone.
DISPLAY_TOLERANCE_M = 15.0
# The map page shows the sensitive counts of the latest released quarters (a year); the
# concerns layer's metadata carries them all.
SENSITIVE_QUARTERS_SHOWN = 4


@bp.get("/")
def index() -> str:
    """The pilot communities, each linking to its map."""
    communities = list_communities(db.session(), pilot_only=True)
    return render_template("index.html", communities=communities)


def map_basics(summary: CommunitySummary) -> tuple[LayerSpec, dict | None, dict[str, str]]:
    """The boundary layer, its feature (if the community has one) and the map's labels.

    Shared by the public map and the staff maps, so both draw the community alike.
    """
    spec = current_app.extensions["geoapp.layers"]["boundaries"]
    sess = db.session()
    geometry = boundary_geojson(sess, summary.id, DISPLAY_TOLERANCE_M) if summary.bbox else None
    feature = privacy.feature(spec, asdict(summary), geometry) if geometry else None
    labels = {
        "basemap": _("Base map"),
        "fullscreen": _("Full screen"),
        "fullscreen_exit": _("Exit full screen"),
    }
    return spec, feature, labels


@bp.get("/c/<slug>")
def community(slug: str) -> str:
    """A community's public map: its boundary over the base map."""
    sess = db.session()
    summary = summary_by_slug(sess, slug)
    if summary is None:
        abort(404)
    spec, feature, labels = map_basics(summary)
    concern_spec = current_app.extensions["geoapp.layers"]["concerns"]
    concerns = concern_source.public_concerns(sess, summary.id)
    layers = current_app.extensions["geoapp.layers"]
    measures = measure_source.public_measures(sess, summary.id)
    areas = (layers["measures"].title(current_language()),
             [(measure_popup(p), json.loads(g)) for p, g in measures if g is not None],
             layers["measures"].style.get("color", "#15803d"))  # fmt: skip
    rendered = community_map(summary, feature, spec, current_language(), labels,
                             concerns=(concern_spec, concerns, public_status_names()),
                             areas=areas)  # fmt: skip
    return render_template("community.html", community=summary, map=rendered,
                           concern_count=len(concerns),
                           incidents=filter_options(summary.id, summary.slug, "public"),
                           incident_spec=layers["incident_cells"],
                           sensitive=concern_source.sensitive_counts(
                               sess, summary.id, current_app.config["GEOAPP_SUPPRESSION_K"],
                               current_app.config["GEOAPP_SENSITIVE_RELEASE_LAG_DAYS"]
                           )[-SENSITIVE_QUARTERS_SHOWN:])  # fmt: skip


def measure_popup(props: dict) -> str:
    """A public measure's popup, from escaped text only."""
    kind, step = kind_names()[props["kind"]], status_names()[props["status"]]
    lines = [f"<strong>{escape(props['title'])}</strong>", escape(f"{kind} · {step}")]
    if props.get("done_on"):
        lines.append(escape(format_date(date.fromisoformat(props["done_on"]), "long")))
    if props.get("result"):
        lines.append(f"<em>{escape(props['result'])}</em>")
    return "<br>".join(lines)


@bp.get("/c/<slug>/results")
def results(slug: str) -> str:
    """What was done: agreed and done measures, and resolved concerns with the answers."""
    sess = db.session()
    summary = summary_by_slug(sess, slug)
    if summary is None:
        abort(404)
    done = concern_source.public_concerns(sess, summary.id, status="resolved")
    items = [{**p, "reported": date.fromisoformat(p["reported"])} for p, _g in done]
    measures = [{**p, "done_on": date.fromisoformat(p["done_on"]) if p["done_on"] else None,
                 "start_on": date.fromisoformat(p["start_on"]) if p["start_on"] else None,
                 "on_map": g is not None}
                for p, g in measure_source.public_measures(sess, summary.id)]  # fmt: skip
    return render_template("results.html", community=summary, done=items, measures=measures,
                           kinds=kind_names(), steps=status_names())  # fmt: skip


@bp.get("/t/<token>")
def track(token: str) -> str:
    """A concern's status and answers, by the private link its reporter received."""
    found = tracked(db.session(), token)
    if found is None:
        abort(404)
    lost = message("contact_lost") if request.args.get("contact") == "lost" else None
    return render_template("track.html", concern=found, new=request.args.get("new") == "1",
                           contact_lost=lost)  # fmt: skip


@bp.get("/privacy")
def privacy_notice() -> str:
    """What we keep and publish, in plain words, with this server's own numbers.

    k, the grid, the public cell sizes and the retention periods are read from the
    configuration, so the page cannot promise what the running server does not do.
    """
    config = current_app.config
    return render_template(
        "privacy.html", k=config["GEOAPP_SUPPRESSION_K"],
        grid_m=f"{config['GEOAPP_PUBLIC_GRID_M']:g}",
        sizes=" / ".join(str(s) for s in config["GEOAPP_PUBLIC_CELL_SIZES"]),
        contact_days=config["GEOAPP_CONTACT_RETENTION_DAYS"],
        address_days=config["GEOAPP_AUDIT_ADDRESS_DAYS"],
        tile_host=urlsplit(config["GEOAPP_TILE_URL"]).hostname,
    )  # fmt: skip


@bp.get("/healthz")
def healthz() -> tuple[dict, int]:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    if db.is_reachable(db.engine()):
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "unavailable", "database": "unreachable"}, 503
