"""Measures for the staff of one community: the list (overdue first), the form, one measure.

Every member reads; coordinators plan and move measures on.  The form keeps what was
typed and marks each field with its problem; the target area is drawn on the map
(Leaflet.draw), or comes from hot spot cells or linked concerns (the session page
sends those).  A measure's page shows its evaluation when it has a target area and a
start date: exact, with the monthly chart, for analysts and up; for viewers a count of
offences 0 < n < k is "fewer than k" (the area is anyone's drawing, so a small count can
locate single offences), and there is no chart.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from markupsafe import Markup, escape
from shapely.geometry import mapping
from werkzeug.datastructures import MultiDict

from geoapp import db, privacy
from geoapp.i18n import current_language
from geoapp.layers.sources import concerns as concern_source
from geoapp.models.measure import Measure, MeasureStatus
from geoapp.models.user import Role
from geoapp.services import measure_effects, measure_queries, measures, planning
from geoapp.services.communities import summary_by_slug
from geoapp.web import planning_messages as words
from geoapp.web.access import community_role
from geoapp.web.concern_messages import public_status_names
from geoapp.web.effect_chart import chart_svg
from geoapp.web.hostile_input import bounded_int
from geoapp.web.maps import RenderedMap, community_map
from geoapp.web.public import map_basics

bp = Blueprint("measures", __name__, url_prefix="/staff/c/<slug>/measures")
TARGET_COLOUR = "#1d4ed8"
INDICATOR_ROWS = 3
FIELDS = ("title", "kind", "agency", "owner", "partners", "description", "start_on", "due_on",
          "target_geojson", "cells", "size", "concern_ids", "session", "priority")  # fmt: skip


def _can_plan() -> bool:
    return g.role.rank >= Role.COORDINATOR.rank


def _measure(public_id: str) -> Measure:
    found = measure_queries.by_public_id(db.session(), g.community.id, public_id)
    if found is None:
        abort(404)
    return found


def target_map(
    slug: str,
    items: list[Measure],
    draw: bool = False,
    with_concerns: bool = False,
    on_target: bool = False,
) -> RenderedMap:
    """The community map with the measures' target areas (popups from escaped text).

    `with_concerns` adds the accepted concerns at their public points (the session map);
    `on_target` opens the map on the (first) measure's area rather than the community.
    """
    sess = db.session()
    found = summary_by_slug(sess, slug)
    assert found is not None
    concerns = None
    if with_concerns:
        public = concern_source.public_concerns(sess, found.id)
        concerns = (current_app.extensions["geoapp.layers"]["concerns"], public,
                    public_status_names())  # fmt: skip
    spec, feature, labels = map_basics(found)
    kinds, steps = words.kind_names(), words.status_names()
    rows = [(f"<strong>{escape(m.title)}</strong><br>{escape(kinds[m.kind.value])} · "
             f"{escape(steps[m.status.value])}", mapping(to_shape(m.target)))
            for m in items if m.target is not None]  # fmt: skip
    focus = None
    if on_target and items and items[0].target is not None:
        west, south, east, north = to_shape(items[0].target).bounds
        pad = max(east - west, north - south, 0.004)
        focus = (west - pad, south - pad / 2, east + pad, north + pad / 2)
    return community_map(found, feature, spec, current_language(), labels, concerns=concerns,
                         areas=(_("Measures"), rows, TARGET_COLOUR), draw=draw,
                         focus=focus)  # fmt: skip


@bp.get("/")
@community_role(Role.VIEWER)
def index(slug: str) -> str:
    """Open measures, overdue first and then by due date; done and dropped after them."""
    sess = db.session()
    items = measure_queries.of_community(sess, g.community.id)
    today = date.today()

    def order(m: Measure) -> tuple:
        return (not measures.overdue(m, today), m.status not in measures.OPEN,
                m.due_on or date.max, m.id)  # fmt: skip

    items.sort(key=order)
    return render_template(
        "staff/measures.html", community=g.community, items=items, today=today,
        overdue={m.id for m in items if measures.overdue(m, today)}, can_plan=_can_plan(),
        kinds=words.kind_names(), steps=words.status_names(), map=target_map(slug, items),
    )  # fmt: skip


def _draft(form: MultiDict[str, str]) -> measures.MeasureDraft:
    """The form as a draft: cells as "i:j" pairs, concerns as public ids, indicator rows."""
    try:
        cells = planning.parse_cells(form.get("cells", ""))
    except ValueError:  # a hidden field tampered with: no cells rather than a wrong area
        cells = []
    size = form.get("size", "500")
    indicators = [measures.Indicator(name=form.get(f"indicator_{n}_name", ""),
                                     baseline=form.get(f"indicator_{n}_baseline", ""),
                                     goal=form.get(f"indicator_{n}_goal", ""),
                                     unit=form.get(f"indicator_{n}_unit", ""))
                  for n in range(INDICATOR_ROWS)]  # fmt: skip
    return measures.MeasureDraft(
        title=form.get("title", ""), kind=form.get("kind", ""), agency=form.get("agency", ""),
        owner=form.get("owner", ""), description=form.get("description", ""),
        partners=form.get("partners", ""), start_on=form.get("start_on", ""),
        due_on=form.get("due_on", ""), target_geojson=form.get("target_geojson", ""),
        cells=cells, cell_size_m=int(size) if size in ("250", "500", "1000") else 500,
        concern_ids=form.get("concern_ids", "").replace(",", " ").split(),
        indicators=indicators,
    )  # fmt: skip


def record(form: MultiDict[str, str]) -> tuple[Measure | None, dict[str, str]]:
    """Validate and store a measure from a form; (measure, {}) or (None, field -> message).

    Shared with the session page, whose decisions are measures with the session's id.
    """
    sess = db.session()
    try:
        clean = measures.validate(sess, g.community, _draft(form))
    except measures.InvalidMeasureError as exc:
        return None, {k: words.problem(v) for k, v in exc.errors.items()}
    session_id = bounded_int(form.get("session"))  # a tampered 401-digit id: no session
    planning_session = planning.get(sess, g.community.id, session_id) if session_id else None
    measure = measures.create(sess, g.community, clean, current_user.user.id)
    if planning_session is not None:
        measure.session_id = planning_session.id
        priority = bounded_int(form.get("priority"))
        if priority and any(p.id == priority for p in planning.priorities(sess, planning_session)):
            measure.priority_id = priority
        sess.commit()
    return measure, {}


def _form_page(values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template(
        "staff/measure_form.html", community=g.community, values=values, errors=errors,
        kinds=words.kind_names(), rows=range(INDICATOR_ROWS),
        map=target_map(g.community.slug, [], draw=True),
    ), status  # fmt: skip


@bp.get("/new")
@community_role(Role.COORDINATOR)
def new(slug: str):
    """An empty form; `cells`, `size`, `concern_ids`, `session`, `priority` may prefill it."""
    values = {k: request.args.get(k, "") for k in FIELDS}
    return _form_page(values, {})


@bp.post("/new")
@community_role(Role.COORDINATOR)
def create(slug: str):
    """Store the measure, or show the form again with what was typed and what is wrong."""
    measure, errors = record(request.form)
    if measure is None:
        return _form_page(request.form.to_dict(), errors, 400)
    return redirect(url_for("measures.detail", slug=slug, measure_id=measure.public_id))


@bp.get("/<measure_id>")
@community_role(Role.VIEWER)
def detail(slug: str, measure_id: str) -> str:
    """One measure: what, who, when, where, its indicators, concerns, steps and effect."""
    sess = db.session()
    measure = _measure(measure_id)
    indicators = measure_queries.indicators(sess, measure.id)
    concerns = measure_queries.linked_concerns(sess, measure.id)
    effect = measure_effects.effect(sess, measure)
    exact = g.role.rank >= Role.ANALYST.rank
    k = current_app.config["GEOAPP_SUPPRESSION_K"]
    offences = shown_offences(effect, k, exact)
    return render_template(
        "staff/measure.html", community=g.community, measure=measure, indicators=indicators,
        concerns=concerns, overdue=measures.overdue(measure), can_plan=_can_plan(),
        next_steps=[s.value for s in measures.NEXT[measure.status]],
        kinds=words.kind_names(), steps=words.status_names(), step_names=words.step_names(),
        effect=effect, words=words, map=target_map(slug, [measure], on_target=True),
        chart=effect_chart(effect, measure) if exact else Markup(""),
        error=request.args.get("error"), offences=offences, k=k, exact=exact,
        judged=all(isinstance(v, int) for row in offences.values() for v in row.values()),
    )  # fmt: skip


def shown_offences(
    effect: measure_effects.Effect | measure_effects.NoEffect, k: int, exact: bool
) -> dict[str, dict[str, int | str | None]]:
    """The offence counts of the evaluation table as the reader may see them.

    Below analyst a measure's area is anyone's drawing, so a count 0 < n < k is withheld
    (None: "fewer than k"), and with it the largest other count of the same window
    (`privacy.SECONDARY`: "withheld"), since target, ring and rest add up to the
    community's count (`privacy.withhold_parts`).
    """
    if not isinstance(effect, measure_effects.Effect):
        return {}
    table: dict[str, dict[str, int | str | None]] = {area: {} for area in measure_effects.AREAS}
    for window in ("before", "after"):
        parts = [getattr(getattr(effect.incidents, a), window) for a in measure_effects.AREAS]
        for area, n in zip(measure_effects.AREAS, privacy.withhold_parts(parts, k, exact),
                           strict=True):  # fmt: skip
            table[area][window] = n
    return table


def effect_chart(
    effect: measure_effects.Effect | measure_effects.NoEffect, measure: Measure
) -> Markup:
    """The monthly chart of an evaluation (empty when there is none)."""
    if not isinstance(effect, measure_effects.Effect) or measure.start_on is None:
        return Markup("")
    labels = {"target": _("Target area"), "buffer": _("Streets around it"),
              "expected": _("Had it followed the community"), "start": _("start"),
              "title": _("Offences per month before and after the start")}  # fmt: skip
    return chart_svg(effect.months, effect.series, effect.expected, measure.start_on, labels)


@bp.post("/<measure_id>/status")
@community_role(Role.COORDINATOR)
def move(slug: str, measure_id: str):
    """Move the measure a step on (done needs what was done, in words for residents)."""
    measure = _measure(measure_id)
    to = MeasureStatus._value2member_map_.get(request.form.get("to", ""))
    if to is None:
        abort(400)
    try:
        measures.change_status(db.session(), measure, to, current_user.user.id,
                               note=request.form.get("note", ""),
                               result_text=request.form.get("result_text", ""))  # fmt: skip
    except measures.MeasureStepError:
        db.session().rollback()
        return redirect(
            url_for(
                "measures.detail",
                slug=slug,
                measure_id=measure_id,
                error="result" if to is MeasureStatus.DONE else "step",
            )
        )
    return redirect(url_for("measures.detail", slug=slug, measure_id=measure_id))
