"""The moderation queue and a concern's page, for the staff of one community.

Everyone with a role may read; coordinators act and may open the reporter's
contact (audited).  All routes go through `community_role`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from geoapp import db
from geoapp.models.concern import ConcernPhoto, Status
from geoapp.models.user import Role
from geoapp.services import moderation
from geoapp.services.categories import for_community
from geoapp.services.concerns import MAX_DESCRIPTION
from geoapp.services.contact_keys import ContactUnreadable
from geoapp.web.access import community_role

bp = Blueprint("moderation", __name__, url_prefix="/staff/c/<slug>/concerns")
PAGE = 50
FILTERS = {
    "open": moderation.OPEN,
    "active": (Status.ACCEPTED, Status.IN_PROGRESS),
    "closed": (Status.RESOLVED, Status.REJECTED),
}


@bp.get("/")
@community_role(Role.VIEWER)
def queue(slug: str) -> str:
    """Concerns waiting for a decision (or in another state), oldest first."""
    which = request.args.get("show", "open")
    code = (request.args.get("code") or "").strip()[:12]
    page = max(request.args.get("page", 1, type=int), 1)
    items, total = moderation.queue(db.session(), g.community.id,
                                    FILTERS.get(which, moderation.OPEN), limit=PAGE,
                                    offset=(page - 1) * PAGE, code=code)  # fmt: skip
    return render_template("staff/concerns.html", community=g.community, items=items,
                           total=total, page=page, pages=max((total + PAGE - 1) // PAGE, 1),
                           which=which, code=code, filters=list(FILTERS),
                           can_act=_can_act())  # fmt: skip


def _can_act() -> bool:
    return g.role.rank >= Role.COORDINATOR.rank


def _concern(public_id: str):
    concern = moderation.get(db.session(), g.community.id, public_id)
    if concern is None:
        abort(404)
    return concern


@bp.get("/<public_id>")
@community_role(Role.VIEWER)
def detail(slug: str, public_id: str) -> str:
    """One concern: text, place, history with staff notes, and (for coordinators) actions."""
    concern = _concern(public_id)
    return render_template(
        "staff/concern.html", community=g.community, concern=concern,
        history=moderation.history(db.session(), concern.id), can_act=_can_act(),
        next_steps=[s.value for s in moderation.NEXT[concern.status]],
        reasons=moderation.REJECT_REASONS, contact=None,
        categories=for_community(db.session(), g.community.id),
        has_photo=db.session().get(ConcernPhoto, concern.id) is not None,
    )  # fmt: skip


@bp.post("/<public_id>/status")
@community_role(Role.COORDINATOR)
def change_status(slug: str, public_id: str):
    """Move the concern on, with an optional public answer and a staff note."""
    concern = _concern(public_id)
    try:
        moderation.change_status(
            db.session(), concern, Status(request.form.get("to", "")), current_user.user.id,
            note=request.form.get("note", ""), public_answer=request.form.get("answer", ""),
            reason=request.form.get("reason", ""),
        )  # fmt: skip
    except (ValueError, moderation.ModerationError):
        db.session().rollback()
        flash(_("That step is not possible. Choose another (a rejection needs a reason)."))
        return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303
    flash(_("Saved."))
    return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303


def _float(name: str) -> float | None:
    try:
        return float(request.form.get(name, ""))
    except ValueError:
        return None


@bp.post("/<public_id>/edit")
@community_role(Role.COORDINATOR)
def edit(slug: str, public_id: str):
    """Correct the category, the text (redaction, original kept for staff) or the place."""
    concern = _concern(public_id)
    try:
        changed = moderation.edit(
            db.session(), concern, current_user.user.id,
            current_app.config["GEOAPP_PUBLIC_GRID_M"],
            category_code=request.form.get("category") or None,
            description=request.form.get("description"),
            lon=_float("lon"), lat=_float("lat"),
        )  # fmt: skip
    except moderation.TextTooLongError:
        db.session().rollback()
        flash(_("The corrected text may have at most %(n)d characters; nothing was saved.",
                n=MAX_DESCRIPTION))  # fmt: skip
        return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303
    except moderation.ModerationError:
        db.session().rollback()
        flash(_("The correction could not be saved: check the category and the place."))
        return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303
    flash(_("Saved.") if changed else _("Nothing changed."))
    return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303


@bp.post("/<public_id>/merge")
@community_role(Role.COORDINATOR)
def merge(slug: str, public_id: str):
    """Close this concern as a duplicate of the one with the given code."""
    concern = _concern(public_id)
    try:
        target = moderation.merge(db.session(), concern, request.form.get("into", ""),
                                  current_user.user.id)  # fmt: skip
    except moderation.ModerationError:
        db.session().rollback()
        flash(_("No open concern with that code in this community."))
        return redirect(url_for(".detail", slug=slug, public_id=public_id)), 303
    flash(_("Merged."))
    return redirect(url_for(".detail", slug=slug, public_id=target.public_id)), 303


@bp.get("/<public_id>/photo.jpg")
@community_role(Role.VIEWER)
def photo(slug: str, public_id: str) -> Response:
    """The concern's photo (re-encoded, no metadata), for the community's staff only."""
    concern = _concern(public_id)
    found = db.session().get(ConcernPhoto, concern.id)
    if found is None:
        abort(404)
    response = Response(found.jpeg, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<public_id>/contact")
@community_role(Role.COORDINATOR)
def contact(slug: str, public_id: str) -> str:
    """The reporter's contact details (each view is recorded in the audit trail)."""
    concern = _concern(public_id)
    keys = current_app.extensions.get("geoapp.contact_keys")
    problem = None
    try:
        found = moderation.view_contact(db.session(), concern, current_user.user.id,
                                        current_user.user.email, request.remote_addr,
                                        keys)  # fmt: skip
    except ContactUnreadable as exc:
        current_app.logger.warning("%s", exc)  # names the concern, never the contact
        found = None
        problem = (
            _("The contact cannot be decrypted with the configured key. Ask the administrator "
              "to check GEOAPP_CONTACT_KEY_FILE or GEOAPP_CONTACT_KEYS (see README).")
            if keys is not None
            else _("The contact cannot be read: no contact key is configured on this server. "
                   "Ask the administrator (see README).")
        )  # fmt: skip
    return render_template(
        "staff/concern.html", community=g.community, concern=concern,
        history=moderation.history(db.session(), concern.id), can_act=True,
        next_steps=[s.value for s in moderation.NEXT[concern.status]],
        reasons=moderation.REJECT_REASONS, contact=found or False, contact_problem=problem,
        categories=for_community(db.session(), g.community.id),
        has_photo=db.session().get(ConcernPhoto, concern.id) is not None,
    )  # fmt: skip
