"""Residents' contact details: sealed at rest, opened for coordinators, rotated, erased.

Privacy rule 1.  The table `concern_contact` holds only Fernet tokens; the keys live
outside the database (services/contact_keys.py).  Nothing searches contacts, so no
blind index is kept: a coordinator reaches a contact through its concern, never the
other way round.  Flask-free; the CLI and the web layer call these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.models.concern import CLOSED_STATUSES, ConcernContact
from geoapp.services import audit
from geoapp.services.contact_keys import (
    NOT_CONFIGURED,
    ContactKeyError,
    ContactKeys,
    ContactUnreadable,
    key_id,
    write_key_file,
)

log = logging.getLogger(__name__)
FIELDS = ("name_enc", "phone_enc", "email_enc")
_LOCK_ID = 0x6765_6F63  # "geoc": one key rotation at a time, across machines


@dataclass(frozen=True)
class Contact:
    """How to reach a resident, opened for a coordinator (never stored like this)."""

    name: str | None
    phone: str | None
    email: str | None


def store(
    session: Session,
    keys: ContactKeys | None,
    concern_id: int,
    name: str | None,
    phone: str | None,
    email: str | None,
) -> bool:
    """Add the sealed contact to the session; False (and nothing added) when it cannot be sealed.

    A report is worth more than its callback: without a usable key the concern is still
    stored, the contact is not, and the caller tells the resident so.  The log line names
    the cause, never the details.
    """
    if keys is None:
        log.error("contact of concern %s not stored: %s", concern_id, NOT_CONFIGURED)
        return False
    try:
        sealed = [keys.seal(name), keys.seal(phone), keys.seal(email)]
    except ContactKeyError as exc:
        log.error("contact of concern %s not stored: %s", concern_id, exc)
        return False
    session.add(ConcernContact(concern_id=concern_id, name_enc=sealed[0], phone_enc=sealed[1],
                               email_enc=sealed[2], consent=True))  # fmt: skip
    return True


def read(session: Session, keys: ContactKeys | None, concern_id: int) -> Contact | None:
    """The opened contact of a concern; None if it has none; ContactUnreadable if no key fits."""
    row = session.get(ConcernContact, concern_id)
    if row is None:
        return None
    if keys is None:
        raise ContactUnreadable(NOT_CONFIGURED)
    try:
        return Contact(keys.unseal(row.name_enc), keys.unseal(row.phone_enc),
                       keys.unseal(row.email_enc))  # fmt: skip
    except ContactKeyError as exc:
        log.error("contact of concern %s not opened: %s", concern_id, exc)
        raise ContactUnreadable(str(exc)) from exc


@dataclass(frozen=True)
class Rotation:
    """What a key rotation did (no key material: only key ids)."""

    new_key_id: str
    re_encrypted: int
    unreadable: int  # tokens no configured key opens; left as they are
    dropped: list[str]  # ids of the keys taken out of the file
    pending_env: bool = False  # environment keys: a new key was made, nothing re-encrypted yet
    new_key: str | None = None  # only for pending_env: the operator must add it


@contextmanager
def _rotation_lock(session: Session) -> Iterator[None]:
    bind = session.get_bind()
    conn = bind.connect() if isinstance(bind, Engine) else None
    lock_conn: Connection = conn if conn is not None else bind  # type: ignore[assignment]
    try:
        if not lock_conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_ID}):
            raise ContactKeyError("another key rotation is running; try again when it ends")
        try:
            yield
        finally:
            lock_conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
    finally:
        if conn is not None:
            conn.close()


def _opens(fernet: Fernet, tokens: list[str]) -> bool:
    try:
        for token in tokens:
            fernet.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def _reseal(session: Session, multi: MultiFernet, newest: Fernet, batch: int) -> tuple[int, int]:
    """Seal every stored contact with the newest key, in batches of rows locked and committed.

    Tokens the newest key already opens are left alone, so a second run (or the sweep
    after the old keys are dropped) touches nothing it need not.
    """
    changed = unreadable = 0
    after = -1
    update = text("UPDATE concern_contact SET name_enc = :a, phone_enc = :b, email_enc = :c "
                  "WHERE concern_id = :i")  # fmt: skip
    while True:
        rows = session.execute(
            text("SELECT concern_id, name_enc, phone_enc, email_enc FROM concern_contact "
                 "WHERE concern_id > :after ORDER BY concern_id LIMIT :n FOR UPDATE"),
            {"after": after, "n": batch},
        ).all()  # fmt: skip
        if not rows:
            return changed, unreadable
        fresh_rows: list[dict[str, object]] = []
        for row in rows:
            after = row.concern_id
            tokens = [row.name_enc, row.phone_enc, row.email_enc]
            if _opens(newest, tokens):
                continue
            try:
                fresh = [multi.rotate(t.encode()).decode() for t in tokens]
            except InvalidToken:
                unreadable += 1
                continue
            fresh_rows.append({"a": fresh[0], "b": fresh[1], "c": fresh[2], "i": row.concern_id})
        if fresh_rows:
            session.execute(update, fresh_rows)
            changed += len(fresh_rows)
        session.commit()


def rotate_key(
    session: Session, keys: ContactKeys, actor: str = "cli", batch: int = 500
) -> Rotation:
    """Make a new key the one that seals, re-encrypt every contact with it, retire the old.

    Key file: the new key goes first in the file (workers re-read it and seal with it at
    once), every row is re-encrypted, the file is cut to the new key, and a last sweep
    re-encrypts any row a worker sealed with a stale key in between.  Interrupted, it is
    run again: the next run adds another key and carries on.
    Environment keys cannot be edited from here: with one key it makes a new key for the
    operator to put first (nothing is re-encrypted yet); with several it re-encrypts under
    the first and says which to remove.
    """
    with _rotation_lock(session):
        old = keys.keys()
        if keys.path is None and len(old) == 1:
            new = Fernet.generate_key().decode("ascii")
            audit.record(session, "contact.key_created", actor,
                         details={"key_id": key_id(new), "source": "environment"})  # fmt: skip
            session.commit()
            return Rotation(key_id(new), 0, 0, [], pending_env=True, new_key=new)
        if keys.path is None:
            new, retire = old[0], old[1:]
        else:
            new, retire = Fernet.generate_key().decode("ascii"), old
            write_key_file(keys.path, [new, *old])
        every = MultiFernet([Fernet(k) for k in [new, *retire]])
        newest = Fernet(new)
        changed, unreadable = _reseal(session, every, newest, batch)
        if keys.path is not None:
            write_key_file(keys.path, [new])
            more, unreadable = _reseal(session, every, newest, batch)
            changed += more
        rotation = Rotation(key_id(new), changed, unreadable, [key_id(k) for k in retire])
        details = {"key_id": rotation.new_key_id, "re_encrypted": changed,
                   "unreadable": unreadable, "retired": rotation.dropped,
                   "source": "environment" if keys.path is None else "file"}  # fmt: skip
        audit.record(session, "contact.key_rotated", actor, details=details)
        session.commit()
    if unreadable:
        log.warning("%d contacts cannot be opened by any configured key", unreadable)
    return rotation


def _expired_sql() -> str:
    return sql.raw_text("contact_expired")


def purge(
    session: Session,
    retention_days: int,
    actor: str = "cli",
    dry_run: bool = False,
    now: datetime | None = None,
) -> int:
    """Erase the contacts of concerns closed more than `retention_days` ago; return how many.

    A dry run counts and changes nothing (no audit event either: nothing happened).  The
    audit event holds the count and the rule, never whose contacts they were.
    """
    if retention_days < 1:
        raise ValueError("GEOAPP_CONTACT_RETENTION_DAYS must be at least 1")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    params = {"closed": [s.value for s in CLOSED_STATUSES], "cutoff": cutoff}
    if dry_run:
        return session.scalar(text(f"SELECT count(*) FROM ({_expired_sql()}) due"), params) or 0
    deleted = session.execute(
        text(f"DELETE FROM concern_contact WHERE concern_id IN ({_expired_sql()}) "
             "RETURNING concern_id"), params,
    ).all()  # fmt: skip
    audit.record(session, "contact.purge", actor,
                 details={"deleted": len(deleted), "retention_days": retention_days})  # fmt: skip
    session.commit()
    return len(deleted)
