"""Record audit events: the trace a prosecutor could rely on.

Details are scrubbed of anything that looks like a secret before they are
written, so a careless caller cannot put a password or a token in the trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func, select, text
from sqlalchemy.orm import Session

from geoapp.models.audit import AuditEvent
from geoapp.models.user import Membership

SECRET_KEYS = ("password", "token", "secret", "totp", "csrf")


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    """Drop keys that name secrets; keep the rest as given."""
    return {k: v for k, v in details.items() if not any(s in k.lower() for s in SECRET_KEYS)}


def record(
    session: Session,
    action: str,
    actor: str,
    *,
    actor_id: int | None = None,
    community_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    client_addr: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the session (the caller's transaction commits it)."""
    event = AuditEvent(
        action=action, actor=actor, actor_id=actor_id, community_id=community_id,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        client_addr=client_addr, details=scrub(details or {}),
    )  # fmt: skip
    session.add(event)
    return event


def search(
    session: Session,
    community_ids: list[int] | None,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    """Events, newest first, filtered; `community_ids` None means all communities.

    Events without a community (sign-ins, password changes) are shown to an admin only
    for people who are members of one of the admin's communities: a Bucha admin has no
    business reading who signs in to Bolhrad, nor the e-mails people mistype (failures
    of unknown accounts belong to no community and are left to the CLI and the database).
    """
    query = select(AuditEvent)
    if community_ids is not None:
        members = select(Membership.user_id).where(Membership.community_id.in_(community_ids))
        member_ids = select(cast(Membership.user_id, String)).where(
            Membership.community_id.in_(community_ids)
        )
        about_members = AuditEvent.actor_id.in_(members) | (
            (AuditEvent.object_type == "user") & AuditEvent.object_id.in_(member_ids)
        )
        query = query.where(
            AuditEvent.community_id.in_(community_ids)
            | (AuditEvent.community_id.is_(None) & about_members)
        )
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if actor:
        query = query.where(AuditEvent.actor.ilike(f"%{actor}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


_FORGET_SQL = text(
    "UPDATE audit_event SET client_addr = NULL "
    "WHERE client_addr IS NOT NULL AND at < now() - make_interval(days => :days)"
)
_FORGET_TALLY_SQL = text(
    "DELETE FROM sign_in_failure_tally WHERE last_at < now() - make_interval(days => :days)"
)


def forget_addresses(session: Session, days: int) -> int:
    """Erase the client address of audit events older than `days`; the events stay.

    Staff and partner acts keep their address for a documented period (to trace a stolen
    account or token), not for ever; the sign-in failure counts of that age go whole.
    Returns how many events lost their address.
    """
    if days < 1:
        raise ValueError("the retention must be at least one day")
    forgotten = session.execute(_FORGET_SQL, {"days": days}).rowcount or 0
    session.execute(_FORGET_TALLY_SQL, {"days": days})
    session.commit()
    return forgotten
