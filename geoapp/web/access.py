"""The one place where staff access is decided.

Every staff route declares what it needs with one of these decorators; the
declaration is also stored on the view (`view.access`), which the access-matrix
test reads to try every route as every role.  A community the user does not
belong to answers 404 (its existence is not confirmed); a role too low, 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from geoapp import db
from geoapp.models.user import Role
from geoapp.services.communities import get_by_slug

F = TypeVar("F", bound=Callable[..., Any])
SIGNED_IN = "signed_in"
# What an admin without a second factor may still do: set it up, or leave.
ENROL_ALLOWED = {"auth.totp", "auth.logout"}
ADMIN_ANYWHERE = "admin_anywhere"


def _gate() -> Any | None:
    """Common checks: signed in, and the second factor set up where required."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.must_enrol_totp and request.endpoint not in ENROL_ALLOWED:
        return redirect(url_for("auth.totp"))
    return None


def signed_in(view: F) -> F:
    """Any signed-in staff member."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _gate() or view(*args, **kwargs)

    wrapper.access = SIGNED_IN  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def admin_anywhere(view: F) -> F:
    """A user who is admin in at least one community."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stop = _gate()
        if stop is not None:
            return stop
        if not any(current_user.role_in(c) is Role.ADMIN for c in current_user.community_ids):
            abort(403)
        return view(*args, **kwargs)

    wrapper.access = ADMIN_ANYWHERE  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def community_role(minimum: Role) -> Callable[[F], F]:
    """A member of the route's community (`<slug>`) holding at least `minimum`.

    Sets `g.community` and `g.role` for the view.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, slug: str, **kwargs: Any) -> Any:
            stop = _gate()
            if stop is not None:
                return stop
            community = get_by_slug(db.session(), slug)
            role = current_user.role_in(community.id) if community else None
            if community is None or role is None:
                abort(404)
            if role.rank < minimum.rank:
                abort(403)
            g.community, g.role = community, role
            return view(*args, slug=slug, **kwargs)

        wrapper.access = minimum  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class BadTokenError(Exception):
    """A bearer token was sent but is unknown, revoked or expired (answered with 401)."""


def layer_audience(community_id: int) -> str:
    """Who is asking for a layer of this community: public, partner, staff or analyst.

    A signed-in member gets their role's audience here (viewers "staff"; analysts,
    coordinators and admins "analyst"); a partner token counts only for its own
    communities; everyone else is the public.  A token that does not verify is an
    error rather than a silent downgrade, so a partner notices an expired token.
    """
    if current_user.is_authenticated and not current_user.must_enrol_totp:
        role = current_user.role_in(community_id)
        if role is not None:
            return "staff" if role is Role.VIEWER else "analyst"
    row = partner_token()
    if row is not None and any(c.id == community_id for c in row.communities):
        return "partner"
    return "public"


def partner_token() -> Any | None:
    """The live partner token in `Authorization: Bearer`, None when none is sent.

    Raises BadTokenError for a token that does not verify.
    """
    from geoapp.services import tokens

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    row = tokens.verify(db.session(), header[7:].strip())
    if row is None:
        raise BadTokenError
    return row
