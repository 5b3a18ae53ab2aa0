"""Session mode: the joint planning session around a full-screen map, and its minutes.

Members read; coordinators run the session: who is in the room, at most three priorities
(a hot spot cell clicked on the map becomes one, with its counts as evidence), decisions
recorded as measures by drawing their area on the same map, and the map state saved on
every change so the session reopens exactly as it was left.  The minutes are one click:
HTML to read, PDF to file and send.

Counts of offences follow the one gate: viewers see a priority's count 0 < n < k as
"fewer than k" and the hot spots of a published year only (what the layer answers them);
the minutes may leave the room, so they withhold such a count for every role.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from geoalchemy2.shape import to_shape
from werkzeug.datastructures import MultiDict

from geoapp import db, privacy
from geoapp.i18n import current_language, localized
from geoapp.layers import LayerError
from geoapp.models.planning import MAX_PRIORITIES, PlanningSession
from geoapp.models.user import Role
from geoapp.services import incident_cells, map_images, planning, releases
from geoapp.services.pdf import PdfError, html_to_pdf
from geoapp.web import layer_requests
from geoapp.web import planning_messages as words
from geoapp.web.access import community_role
from geoapp.web.measures_staff import INDICATOR_ROWS, record, target_map
from geoapp.web.problems import problem

bp = Blueprint("sessions", __name__, url_prefix="/staff/c/<slug>/sessions")


def _can_run() -> bool:
    return g.role.rank >= Role.COORDINATOR.rank


def _session(session_id: int) -> PlanningSession:
    found = planning.get(db.session(), g.community.id, session_id)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@community_role(Role.VIEWER)
def index(slug: str, errors: dict[str, str] | None = None, values: dict | None = None):
    """The community's sessions, latest first, and (for coordinators) a new one."""
    items = planning.listing(db.session(), g.community.id)
    return render_template("staff/sessions.html", community=g.community, items=items,
                           can_run=_can_run(), errors=errors or {},
                           values=values or {})  # fmt: skip


@bp.post("/")
@community_role(Role.COORDINATOR)
def create(slug: str):
    """Open a new session and go to it."""
    try:
        found = planning.create(db.session(), g.community, request.form.get("title", ""),
                                request.form.get("held_on", ""), current_user.user.id)  # fmt: skip
    except planning.InvalidPlanningError as exc:
        errors = {k: words.problem(v) for k, v in exc.errors.items()}
        return index(slug=slug, errors=errors, values=request.form.to_dict()), 400
    return redirect(url_for("sessions.page", slug=slug, session_id=found.id))


def _page(found: PlanningSession, errors: dict[str, dict[str, str]] | None = None,
          values: dict[str, str] | None = None, status: int = 200):  # fmt: skip
    """The session screen; `errors` per form ("participant", "priority", "decision")."""
    sess = db.session()
    decided = planning.decisions(sess, found)
    exact = _exact()
    layers = current_app.extensions["geoapp.layers"]
    return render_template(
        "staff/session.html", community=g.community, planning=found,
        priorities=planning.priorities(sess, found), decisions=decided,
        can_run=_can_run(), errors=errors or {}, values=values or {},
        agencies=words.agency_names(), kinds=words.kind_names(), steps=words.status_names(),
        rows=range(INDICATOR_ROWS), max_priorities=MAX_PRIORITIES,
        map=target_map(g.community.slug, decided, draw=_can_run(), with_concerns=True),
        concerns_title=layers["concerns"].title(current_language()),
        boundaries_title=layers["boundaries"].title(current_language()),
        groups=incident_cells.groups_present(sess, g.community.id) if exact else [],
        period=_period(found) if exact else {}, exact=exact,
        published=[] if exact else releases.all_of(sess, g.community.id),
        **_counting(exact),
        layer_url=url_for("api.layer_geojson", slug=g.community.slug, layer="hotspots"),
        state_url=url_for("sessions.save_state", slug=g.community.slug, session_id=found.id),
        hotspot_spec=layers["hotspots"],
    ), status  # fmt: skip


def _exact() -> bool:
    """Analysts and up see exact counts and any period; viewers the published years only."""
    return g.role.rank >= Role.ANALYST.rank


def _period(found: PlanningSession) -> dict[str, str]:
    """An analyst's map filter: the period, group and size the session was left at."""
    filters = found.map_state.get("filters", {})
    try:
        params = layer_requests.hotspot_params(g.community, _filter_args(filters))
    except LayerError:
        params = layer_requests.hotspot_params(g.community, _filter_args({}))
    query = params.query
    return {"from": query.start.isoformat(), "to": query.end.isoformat(),
            "size": str(query.size_m), "group": ",".join(params.groups)}  # fmt: skip


def _counting(exact: bool) -> dict[str, Any]:
    """`shown_count(n)` for the templates: n, or None for "fewer than k" (see privacy)."""
    k = current_app.config["GEOAPP_SUPPRESSION_K"]
    return {"k": k, "shown_count": partial(privacy.withhold_small, k=k, exact=exact)}


def _filter_args(filters: dict[str, str]) -> MultiDict[str, str]:
    return MultiDict({k: v for k, v in filters.items() if v})


@bp.get("/<int:session_id>")
@community_role(Role.VIEWER)
def page(slug: str, session_id: int):
    """The session screen, reopened with the map as it was left."""
    return _page(_session(session_id))


@bp.post("/<int:session_id>/state")
@community_role(Role.COORDINATOR)
def save_state(slug: str, session_id: int):
    """Keep the map state the page sends (JSON); a state that does not check is a 400."""
    found = _session(session_id)
    try:
        state = planning.save_map_state(db.session(), found, request.get_json(silent=True))
    except planning.InvalidPlanningError as exc:
        return problem(400, "Bad Request", words.problem(exc.errors["map_state"]),
                       code=exc.errors["map_state"])  # fmt: skip
    return jsonify({"saved": state})


@bp.post("/<int:session_id>/participants")
@community_role(Role.COORDINATOR)
def add_participant(slug: str, session_id: int):
    """Add who is in the room."""
    found = _session(session_id)
    try:
        planning.add_participant(db.session(), found, request.form.get("name", ""),
                                 request.form.get("agency", ""))  # fmt: skip
    except planning.InvalidPlanningError as exc:
        return _page(found, {"participant": {k: words.problem(v) for k, v in exc.errors.items()}},
                     request.form.to_dict(), 400)  # fmt: skip
    return redirect(url_for("sessions.page", slug=slug, session_id=session_id) + "#participants")


@bp.post("/<int:session_id>/participants/<int:index>/remove")
@community_role(Role.COORDINATOR)
def remove_participant(slug: str, session_id: int, index: int):
    """Take a participant off the list."""
    found = _session(session_id)
    try:
        planning.remove_participant(db.session(), found, index)
    except planning.InvalidPlanningError:
        abort(404)
    return redirect(url_for("sessions.page", slug=slug, session_id=session_id) + "#participants")


@bp.post("/<int:session_id>/priorities")
@community_role(Role.COORDINATOR)
def add_priority(slug: str, session_id: int):
    """A priority, with the chosen hot spot cells' counts frozen as its evidence."""
    found = _session(session_id)
    form = request.form
    evidence = None
    try:
        if form.get("cells", "").strip():
            # The form always sends all four fields; an empty one means "not chosen".
            params = layer_requests.hotspot_params(g.community, _filter_args(form.to_dict()))
            cells = _cells(form.get("cells", ""))
            cache = current_app.extensions["geoapp.cache"]
            evidence = planning.cell_evidence(db.session(), params.query, cells, cache).as_json()
            evidence["group"] = ",".join(params.groups)
        planning.add_priority(db.session(), found, form.get("title", ""), form.get("note", ""),
                              evidence)  # fmt: skip
    except LayerError as exc:
        return _page(found, {"priority": {"cells": exc.detail}}, form.to_dict(), 400)
    except planning.InvalidPlanningError as exc:
        errors = {k: words.problem(v) for k, v in exc.errors.items()}
        return _page(found, {"priority": errors}, form.to_dict(), 400)
    return redirect(url_for("sessions.page", slug=slug, session_id=session_id) + "#agenda")


def _cells(text: str) -> list[tuple[int, int]]:
    """The chosen cells; a malformed one is an unknown cell."""
    try:
        return planning.parse_cells(text)
    except ValueError:
        raise planning.InvalidPlanningError({"cells": "unknown_cell"}) from None


@bp.post("/<int:session_id>/decisions")
@community_role(Role.COORDINATOR)
def decide(slug: str, session_id: int):
    """Record a decision as a measure of this session (its area drawn on the session map)."""
    found = _session(session_id)
    measure, errors = record(request.form)
    if measure is None:
        return _page(found, {"decision": errors}, request.form.to_dict(), 400)
    return redirect(url_for("sessions.page", slug=slug, session_id=session_id) + "#decisions")


def _minutes_context(found: PlanningSession) -> dict[str, Any]:
    """What both forms of the minutes show, the map picture included (as a data URL)."""
    sess = db.session()
    content = planning.minutes(sess, found)
    boundary = to_shape(g.community.geom) if g.community.geom is not None else None
    numbered = []
    for item in content.priorities:
        cells = item.evidence.get("cells") if item.evidence else None
        if cells:
            numbered.append((item.position, map_images.cells_polygon(
                cells, item.evidence["size_m"], g.community.metric_srid)))  # fmt: skip
    targets = [(n + 1, to_shape(m.target)) for n, m in enumerate(content.decisions)
               if m.target is not None]  # fmt: skip
    state = found.map_state or {}
    view = None
    if not numbered and not targets and state.get("center"):
        view = (state["center"][0], state["center"][1], float(state["zoom"]))
    png = map_images.session_map(boundary, numbered, targets, view)
    # Minutes may leave the room (filed, sent): small counts are withheld for every role.
    return {"community": g.community, "m": content, "agencies": words.agency_names(),
            "kinds": words.kind_names(), "steps": words.status_names(),
            "map_png": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            "name": localized(g.community.name_uk, g.community.name_en),
            **_counting(exact=False)}  # fmt: skip


@bp.get("/<int:session_id>/minutes")
@community_role(Role.VIEWER)
def minutes(slug: str, session_id: int) -> str:
    """The minutes as a printable page."""
    return render_template("staff/minutes.html", **_minutes_context(_session(session_id)),
                           for_pdf=False)  # fmt: skip


@bp.get("/<int:session_id>/minutes.pdf")
@community_role(Role.VIEWER)
def minutes_pdf(slug: str, session_id: int) -> Response:
    """The same minutes as a PDF, printed by headless Chromium."""
    found = _session(session_id)
    html = render_template("staff/minutes.html", **_minutes_context(found), for_pdf=True)
    try:
        body = html_to_pdf(html, current_app.config["GEOAPP_CHROMIUM"])
    except PdfError:
        current_app.logger.exception("minutes PDF of session %s", session_id)
        abort(503)
    name = f"minutes-{g.community.slug}-{found.held_on.isoformat()}.pdf"
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
