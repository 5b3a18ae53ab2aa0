"""Staff pages: home (my communities), a community's dashboard, the audit trail."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_login import current_user

from geoapp import db
from geoapp.models.user import Role
from geoapp.services import audit
from geoapp.services.communities import list_communities
from geoapp.web.access import admin_anywhere, community_role, signed_in
from geoapp.web.forms import AuditFilterForm

bp = Blueprint("staff", __name__, url_prefix="/staff")
PAGE = 100


@bp.get("/")
@signed_in
def home() -> str:
    """The communities this person works in, with their role in each."""
    roles = {m.community_id: m.role for m in current_user.user.memberships}
    communities = list_communities(db.session(), ids=list(roles)) if roles else []
    return render_template("staff/home.html", communities=communities, roles=roles)


@bp.get("/c/<slug>/")
@community_role(Role.VIEWER)
def community(slug: str) -> str:
    """A community's dashboard: the places later work fills (moderation, analysis, planning)."""
    return render_template("staff/community.html", community=g.community, role=g.role)


@bp.get("/audit")
@admin_anywhere
def audit_log() -> str:
    """The audit trail of the communities this admin administers, newest first."""
    form = AuditFilterForm(request.args)
    form.validate()
    page = max(request.args.get("page", 1, type=int), 1)
    admin_of = [c for c in current_user.community_ids if current_user.role_in(c) is Role.ADMIN]
    events, total = audit.search(
        db.session(), admin_of, form.action.data or None, form.actor.data or None,
        limit=PAGE, offset=(page - 1) * PAGE,
    )  # fmt: skip
    ids = sorted({e.community_id for e in events if e.community_id is not None})
    names = {c.id: c for c in list_communities(db.session(), ids=ids)} if ids else {}
    return render_template("staff/audit.html", form=form, events=events, total=total, page=page,
                           pages=max((total + PAGE - 1) // PAGE, 1), names=names)  # fmt: skip
