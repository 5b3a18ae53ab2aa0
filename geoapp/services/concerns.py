"""Residents report concerns: validated, located, stored once per client token.

Flask-free.  Problems come back as `ConcernInvalid` with a code per field; the
web layer turns codes into messages in the resident's language.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geoapp import privacy, sql
from geoapp.models.category import Category
from geoapp.models.community import Community
from geoapp.models.concern import Concern, ConcernContact, ConcernEvent, ConcernPhoto
from geoapp.services import contacts
from geoapp.services.communities import covers
from geoapp.services.contact_keys import ContactKeys
from geoapp.services.geocode import geocode
from geoapp.services.locate import locate
from geoapp.services.photos import PhotoError, clean_photo

MAX_DESCRIPTION = 1000
MAX_ADDRESS, MAX_CONTACT_NAME, MAX_EMAIL = 300, 200, 254  # the columns' lengths
CLIENT_LOCATED_BY = ("pin", "device")
MIN_GEOCODE_SCORE = 0.5
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()-]{7,20}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Resident text without control characters (PostgreSQL refuses NUL; none belong here)."""
    return _CONTROL.sub("", value)


@dataclass
class ConcernInvalid(Exception):  # noqa: N818 - a validation outcome, named for what it says
    """The report cannot be stored as it is; `errors` maps a field to a code."""

    errors: dict[str, str] = field(default_factory=dict)
    suggestion: dict[str, str] | None = None  # the community that contains the point
    notice: str | None = None  # hotlines for categories that are never recorded


@dataclass(frozen=True)
class Report:
    """What the resident typed or tapped, before validation."""

    category: str
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    located_by: str = "pin"  # pin | device | geocoded (set when the address is resolved)
    client_token: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    consent: bool = False
    photo: bytes | None = None  # as uploaded; cleaned before it is stored


@dataclass(frozen=True)
class Receipt:
    """What the resident keeps: a private tracking token and a short code."""

    public_id: str
    tracking_token: str
    short_code: str
    status: str
    created: bool  # False when this was a retry of an earlier submission
    contact_kept: bool = True  # False: a contact was given but could not be stored sealed


def _category(session: Session, community: Community, code: str) -> Category | None:
    return session.scalar(
        select(Category).where(
            Category.domain == "concern", Category.code == code,
            (Category.community_id.is_(None)) | (Category.community_id == community.id),
        )
    )  # fmt: skip


def _existing(session: Session, client_token: str, has_contact: bool) -> Receipt | None:
    row = session.scalar(select(Concern).where(Concern.client_token == client_token))
    if row is None:
        return None
    kept = not has_contact or session.get(ConcernContact, row.id) is not None
    return Receipt(row.public_id, row.tracking_token, row.short_code, row.status.value, False,
                   kept)  # fmt: skip


def validate(session: Session, community: Community, report: Report, language: str = "uk"):
    """Check a report; return (category, lon, lat, located_by, score, address, photo) or raise.

    The photo comes back cleaned (or None): decoding a picture is the dearest check, so
    it is done once, here, and the caller stores what this returns.
    """
    errors: dict[str, str] = {}
    if not TOKEN_RE.match(report.client_token or ""):
        errors["client_token"] = "invalid_token"
    category = _category(session, community, report.category) if report.category else None
    if category is None:
        errors["category"] = "required" if not report.category else "unknown_category"
    elif category.handling == "no_pin":
        notice = category.notice_en if language == "en" else category.notice_uk
        raise ConcernInvalid({"category": "not_recorded"}, notice=notice)
    if len(report.description) > MAX_DESCRIPTION:
        errors["description"] = "too_long"
    if len((report.address or "").strip()) > MAX_ADDRESS:
        errors["address"] = "address_too_long"
    if len(report.contact_name.strip()) > MAX_CONTACT_NAME:
        errors["contact_name"] = "name_too_long"
    if len(report.contact_email.strip()) > MAX_EMAIL:
        errors["contact_email"] = "invalid_email"
    if report.contact_phone and not PHONE_RE.match(report.contact_phone):
        errors["contact_phone"] = "invalid_phone"
    if report.contact_email and not EMAIL_RE.match(report.contact_email):
        errors["contact_email"] = "invalid_email"
    has_contact = any((report.contact_name, report.contact_phone, report.contact_email))
    if has_contact and not report.consent:
        errors["consent"] = "consent_required"
    # The client's own point is a pin or the device's position; only the server geocodes
    # (and then it records the score), so a client's "geocoded" is stored as a pin.
    located_by = report.located_by if report.located_by in CLIENT_LOCATED_BY else "pin"
    lon, lat, score, address = report.lon, report.lat, None, None
    suggestion = None
    if lon is not None and lat is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            errors["location"] = "invalid_point"
        elif not covers(session, community.id, lon, lat):
            errors["location"] = "outside_community"
            found = [
                c for c in locate(session, lon, lat) if c.level in ("hromada", "city_district")
            ]
            if found:
                suggestion = {"slug": found[0].slug, "name_uk": found[0].name_uk,
                              "name_en": found[0].name_en}  # fmt: skip
        address = (report.address or "").strip() or None
    elif "address" in errors:
        pass  # too long to look up
    elif report.address and report.address.strip():
        hits = geocode(session, report.address, community.id, 1)
        if not hits or hits[0].score < MIN_GEOCODE_SCORE:
            errors["address"] = "address_not_found"
        else:
            lon, lat, score, address = hits[0].lon, hits[0].lat, hits[0].score, hits[0].label
            located_by = "geocoded"
    else:
        errors["location"] = "no_place"
    photo = None
    if report.photo:
        try:
            photo = clean_photo(report.photo)
        except PhotoError as exc:
            errors["photo"] = exc.code
    if errors:
        raise ConcernInvalid(errors, suggestion=suggestion)
    assert category is not None
    return category, lon, lat, located_by, score, address, photo


def report_concern(
    session: Session,
    community: Community,
    report: Report,
    grid_m: float = 100.0,
    language: str = "uk",
    contact_keys: ContactKeys | None = None,
) -> Receipt:
    """Store a concern (once per client token) with its first history step and contact.

    The contact is sealed with `contact_keys` (privacy rule 1); without usable keys the
    concern is stored all the same and the receipt says the contact was not kept.
    """
    report = Report(**{k: clean_text(v) if isinstance(v, str) else v
                       for k, v in report.__dict__.items()})  # fmt: skip
    has_contact = any((report.contact_name, report.contact_phone, report.contact_email))
    earlier = (
        _existing(session, report.client_token, has_contact)
        if TOKEN_RE.match(report.client_token)
        else None
    )
    if earlier is not None:
        return earlier
    category, lon, lat, located_by, score, address, photo = validate(
        session, community, report, language
    )
    params = {
        "public_id": str(uuid.uuid4()), "tracking_token": secrets.token_urlsafe(24),
        "short_code": "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
        "client_token": report.client_token, "community_id": community.id,
        "category_id": category.id, "description": report.description.strip(),
        "lon": lon, "lat": lat, "grid": grid_m, "address": address,
        "located_by": located_by if located_by in ("pin", "device", "geocoded") else "pin",
        "geocode_score": score,
    }  # fmt: skip
    new_id = session.scalar(sql.load("concern_insert"), params)
    if new_id is None:  # a concurrent retry with the same token won the race
        session.rollback()
        earlier = _existing(session, report.client_token, has_contact)
        assert earlier is not None
        return earlier
    session.add(ConcernEvent(concern_id=new_id, to_status="new"))
    if photo is not None:
        session.add(ConcernPhoto(concern_id=new_id, jpeg=photo.jpeg, width=photo.width,
                                 height=photo.height))  # fmt: skip
    kept = True
    if has_contact:
        kept = contacts.store(
            session, contact_keys, new_id, report.contact_name or None,
            report.contact_phone or None, report.contact_email or None,
        )  # fmt: skip
    session.commit()
    return Receipt(params["public_id"], params["tracking_token"], params["short_code"], "new", True,
                   kept)  # fmt: skip


@dataclass(frozen=True)
class Tracked:
    """What a resident sees by their private link: no contact, no exact point."""

    short_code: str
    category_uk: str
    category_en: str
    status: str
    created_at: object
    description: str
    address: str | None
    history: list[tuple[object, str, str | None]]  # (when, status, public answer)


def tracked(session: Session, token: str) -> Tracked | None:
    """The concern behind a tracking token, as its reporter may see it; None if unknown."""
    if not token or len(token) > 64:
        return None
    row = session.execute(
        select(Concern, Category).join(Category, Category.id == Concern.category_id)
        .where(Concern.tracking_token == token)
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    concern, category = row
    events = session.scalars(
        select(ConcernEvent).where(ConcernEvent.concern_id == concern.id).order_by(ConcernEvent.id)
    )
    return Tracked(
        concern.short_code, category.name_uk, category.name_en, concern.status.value,
        concern.created_at, concern.description, concern.address,
        [(e.at, e.to_status, e.public_answer) for e in events],
    )  # fmt: skip


def nearby(
    session: Session, community: Community, category_code: str, lon: float, lat: float
) -> list[dict]:
    """Open concerns of the same category within the category's radius (public view only)."""
    category = _category(session, community, category_code)
    if category is None or category.handling == "no_pin" or category.sensitive:
        return []
    rows = session.execute(
        sql.load("concerns_nearby"),
        {"community_id": community.id, "category": category.code, "lon": lon, "lat": lat,
         "radius": category.radius_m, **privacy.policy_params()},
    ).mappings()  # fmt: skip
    return [dict(row) | {"metres": int(row["metres"])} for row in rows]


def support(
    session: Session, community: Community, public_id: str, client_token: str
) -> int | None:
    """Add a resident's "me too" (once per client token); the new count, or None if unknown."""
    if not TOKEN_RE.match(client_token or ""):
        raise ConcernInvalid({"client_token": "invalid_token"})
    concern = session.scalar(
        select(Concern).where(Concern.public_id == public_id,
                              Concern.community_id == community.id,
                              Concern.status.in_(("accepted", "in_progress")))
    )  # fmt: skip
    if concern is None:
        return None
    added = session.execute(
        text("INSERT INTO concern_support (concern_id, client_token) VALUES (:c, :t) "
             "ON CONFLICT DO NOTHING RETURNING concern_id"), {"c": concern.id, "t": client_token},
    ).first()  # fmt: skip
    if added:
        session.execute(text("UPDATE concern SET support_count = support_count + 1 WHERE id = :c"),
                        {"c": concern.id})  # fmt: skip
    session.commit()
    return session.scalar(text("SELECT support_count FROM concern WHERE id = :c"),
                          {"c": concern.id})  # fmt: skip
