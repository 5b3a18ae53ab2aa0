"""Coordinators turn reports into accepted, answered concerns.

Every step is a row in the concern's history (with the actor, a staff-only
note and an optional public answer); viewing a reporter's contact details is
an audit event.  Flask-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from geoapp.models.category import Category
from geoapp.models.concern import Concern, ConcernContact, ConcernEvent, Status
from geoapp.services import audit, contacts
from geoapp.services.communities import covers
from geoapp.services.concerns import MAX_DESCRIPTION
from geoapp.services.contact_keys import ContactKeys, ContactUnreadable

NEXT = {
    Status.NEW: (Status.UNDER_REVIEW, Status.ACCEPTED, Status.REJECTED),
    Status.UNDER_REVIEW: (Status.ACCEPTED, Status.REJECTED),
    Status.ACCEPTED: (Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED),
    Status.IN_PROGRESS: (Status.RESOLVED,),
    Status.RESOLVED: (),
    Status.REJECTED: (Status.UNDER_REVIEW,),
}
REJECT_REASONS = ("spam", "duplicate", "out_of_scope")
OPEN = (Status.NEW, Status.UNDER_REVIEW)
MAX_ANSWER = 2000


class ModerationError(ValueError):
    """A step that is not allowed; the message says which."""


class TextTooLongError(ModerationError):
    """A corrected text longer than a resident's may be (MAX_DESCRIPTION)."""


@dataclass(frozen=True)
class QueueItem:
    """One line of the moderation queue."""

    public_id: str
    short_code: str
    category_uk: str
    category_en: str
    status: str
    description: str
    address: str | None
    created_at: datetime
    support_count: int
    has_contact: bool


def queue(
    session: Session,
    community_id: int,
    statuses: tuple[Status, ...] = OPEN,
    limit: int = 50,
    offset: int = 0,
    code: str = "",
) -> tuple[list[QueueItem], int]:
    """A page of a community's concerns, oldest first (they waited longest), and the total.

    `code` finds one by the short code a resident reads out on the phone.
    """
    where = [Concern.community_id == community_id, Concern.status.in_(statuses)]
    if code:
        where = [Concern.community_id == community_id, Concern.short_code == code.upper()]
    total = session.scalar(select(func.count()).select_from(Concern).where(*where)) or 0
    rows = session.execute(
        select(Concern, Category, func.count(ConcernContact.concern_id))
        .join(Category, Category.id == Concern.category_id)
        .outerjoin(ConcernContact, ConcernContact.concern_id == Concern.id)
        .where(*where)
        .group_by(Concern.id, Category.id)
        .order_by(Concern.created_at, Concern.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        QueueItem(c.public_id, c.short_code, cat.name_uk, cat.name_en, c.status.value,
                  c.description, c.address, c.created_at, c.support_count, bool(n))
        for c, cat, n in rows
    ]  # fmt: skip
    return items, total


def get(session: Session, community_id: int, public_id: str) -> Concern | None:
    """A concern of this community (another community's concern is not found here)."""
    return session.scalar(
        select(Concern).where(Concern.public_id == public_id, Concern.community_id == community_id)
    )


def history(session: Session, concern_id: int) -> list[ConcernEvent]:
    """The concern's steps, first to last, with staff notes."""
    return list(
        session.scalars(
            select(ConcernEvent).where(ConcernEvent.concern_id == concern_id)
            .order_by(ConcernEvent.id)
        )
    )  # fmt: skip


def change_status(
    session: Session,
    concern: Concern,
    to: Status,
    actor_id: int,
    note: str = "",
    public_answer: str = "",
    reason: str = "",
) -> None:
    """Move a concern on, recording who, why, and what the public is told."""
    if to not in NEXT[concern.status]:
        raise ModerationError(f"{concern.status.value} -> {to.value} is not a step")
    if to is Status.REJECTED and reason not in REJECT_REASONS:
        raise ModerationError("a rejection needs a reason: " + ", ".join(REJECT_REASONS))
    if len(public_answer) > MAX_ANSWER or len(note) > MAX_ANSWER:
        raise ModerationError(f"at most {MAX_ANSWER} characters")
    staff_note = " ".join(p for p in (f"[{reason}]" if reason else "", note.strip()) if p)
    session.add(ConcernEvent(
        concern_id=concern.id, actor_id=actor_id, from_status=concern.status.value,
        to_status=to.value, note=staff_note or None, public_answer=public_answer.strip() or None,
    ))  # fmt: skip
    concern.status = to
    session.commit()


def view_contact(
    session: Session,
    concern: Concern,
    actor_id: int,
    actor: str,
    client_addr: str | None,
    keys: ContactKeys | None = None,
) -> contacts.Contact | None:
    """The reporter's contact details, opened; reading them is an audit event.

    Raises ContactUnreadable (after recording the attempt) when the configured keys do not
    open the stored contact: the coordinator is told so, and shown no ciphertext.
    """
    try:
        contact, readable = contacts.read(session, keys, concern.id), True
    except ContactUnreadable:
        contact, readable = None, False
    details: dict[str, bool] = {"found": contact is not None or not readable}
    if not readable:
        details["readable"] = False
    audit.record(session, "contact.view", actor, actor_id=actor_id,
                 community_id=concern.community_id, object_type="concern",
                 object_id=concern.public_id, client_addr=client_addr,
                 details=details)  # fmt: skip
    session.commit()
    if not readable:
        raise ContactUnreadable(f"the contact of concern {concern.public_id} cannot be opened")
    return contact


def edit(
    session: Session,
    concern: Concern,
    actor_id: int,
    grid_m: float,
    category_code: str | None = None,
    description: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> list[str]:
    """Correct a concern: category, text (redaction) or place; return what changed.

    The original text stays in the history as a staff-only note, so a redaction hides
    a name or a phone number from the resident-facing pages without losing the record.
    """
    changes: list[str] = []
    if category_code and category_code != session.get(Category, concern.category_id).code:
        category = session.scalar(  # the defaults and this community's own: never another's
            select(Category).where(
                Category.domain == "concern", Category.code == category_code,
                or_(Category.community_id.is_(None),
                    Category.community_id == concern.community_id),
            )
        )  # fmt: skip
        if category is None or category.handling == "no_pin":
            raise ModerationError(f"no category '{category_code}' for concerns")
        changes.append(f"category -> {category.code}")
        concern.category_id = category.id
    if description is not None and len(description.strip()) > MAX_DESCRIPTION:
        raise TextTooLongError(f"the text may have at most {MAX_DESCRIPTION} characters")
    if description is not None and description.strip() != concern.description:
        changes.append(f"text redacted; original: {concern.description}")
        concern.description = description.strip()
    if lon is not None and lat is not None:
        if not covers(session, concern.community_id, lon, lat):
            raise ModerationError("the new place is outside the community")
        moved = session.scalar(
            text("UPDATE concern c SET point = p.g, public_point = ST_Transform(ST_SnapToGrid("
                 "ST_Transform(p.g, m.metric_srid), :grid), 4326) "
                 "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) p, community m "
                 "WHERE c.id = :id AND m.id = c.community_id "
                 "RETURNING round(ST_Distance(p.g::geography, "
                 "(SELECT point FROM concern WHERE id = :id)::geography))"),
            {"x": lon, "y": lat, "grid": grid_m, "id": concern.id},
        )  # fmt: skip
        changes.append(f"place moved {int(moved or 0)} m")
        session.expire(concern, ["point", "public_point"])
    if not changes:
        return []
    session.add(ConcernEvent(concern_id=concern.id, actor_id=actor_id,
                             from_status=concern.status.value, to_status=concern.status.value,
                             note="; ".join(changes)))  # fmt: skip
    session.commit()
    return changes


def merge(session: Session, concern: Concern, into_code: str, actor_id: int) -> Concern:
    """Close a duplicate into another open concern of the same community; supports move."""
    target = session.scalar(
        select(Concern).where(Concern.community_id == concern.community_id,
                              Concern.short_code == into_code.strip().upper(),
                              Concern.id != concern.id)
    )  # fmt: skip
    if target is None or target.status in (Status.REJECTED, Status.RESOLVED):
        raise ModerationError("no open concern with that code in this community")
    target.support_count += 1 + concern.support_count
    session.add(ConcernEvent(concern_id=concern.id, actor_id=actor_id,
                             from_status=concern.status.value, to_status=Status.REJECTED.value,
                             note=f"[duplicate] merged into {target.short_code}"))  # fmt: skip
    concern.status = Status.REJECTED
    session.commit()
    return target
