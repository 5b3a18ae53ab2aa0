"""Staff accounts: passwords (argon2id), second factor (TOTP), roles, sessions.

Flask-free: the CLI and the web both come through here, and each function that
changes something writes its audit event in the same transaction.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from geoapp.models.community import Community
from geoapp.models.user import Agency, LoginSession, Membership, Role, User
from geoapp.services import audit

MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against when the email is unknown, so both paths take as long.

    Made on the first sign-in, not at import: argon2id's 64 MiB of working memory would
    otherwise set the peak memory of every app process, whether anyone signs in or not.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def create_user(
    session: Session, email: str, name: str, agency: Agency, password: str, actor: str = "cli"
) -> User:
    """Create an account (no roles yet, not committed: `grant` finishes the use case)."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(f"'{email}' is not an email address")
    if session.scalar(select(User).where(User.email == email)):
        raise AccountError(f"an account for {email} exists already")
    check_password_strength(password)
    user = User(email=email, name=name, agency=agency, password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    audit.record(session, "user.create", actor, object_type="user", object_id=user.id,
                 details={"email": email, "agency": agency.value})  # fmt: skip
    return user


def user_by_email(session: Session, email: str) -> User | None:
    """The account with this email, or None."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def grant(session: Session, user: User, community: Community, role: Role, actor: str) -> None:
    """Give `user` the `role` in `community` (replacing a previous role there)."""
    current = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.community_id == community.id
        )
    )
    before = current.role.value if current else None
    if current:
        current.role = role
    else:
        session.add(Membership(user_id=user.id, community_id=community.id, role=role))
    session.flush()
    session.refresh(user)
    audit.record(session, "role.grant", actor, community_id=community.id, object_type="user",
                 object_id=user.id, details={"role": role.value, "previous": before})  # fmt: skip
    session.commit()


def revoke(session: Session, user: User, community: Community, actor: str) -> bool:
    """Remove `user`'s role in `community`; False when there was none."""
    current = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.community_id == community.id
        )
    )
    if current is None:
        return False
    role = current.role
    session.delete(current)
    session.flush()
    session.refresh(user)
    audit.record(session, "role.revoke", actor, community_id=community.id, object_type="user",
                 object_id=user.id, details={"role": role.value})  # fmt: skip
    session.commit()
    return True


def end_all_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC))
    )


def disable(session: Session, user: User, actor: str) -> None:
    """Disable the account and end every session it has."""
    user.active = False
    end_all_sessions(session, user.id)
    audit.record(session, "user.disable", actor, object_type="user", object_id=user.id)
    session.commit()


def is_admin_anywhere(user: User) -> bool:
    """Whether the user administers at least one community."""
    return any(m.role is Role.ADMIN for m in user.memberships)


def needs_second_factor(user: User) -> bool:
    """Coordinators and admins open residents' contacts, so they must use a second factor.

    Viewers and analysts may turn it on; a stolen password of theirs reaches statistics,
    not people.
    """
    return any(m.role.rank >= Role.COORDINATOR.rank for m in user.memberships)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    user: User | None
    session_id: str | None
    reason: str | None  # why it failed: "credentials", "totp", "disabled"


def totp_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step whose code `code` is (the previous, current or next one), or None.

    The step, not a yes/no, so that the caller can refuse a step it has seen before: a
    code overheard or phished is then worthless once its owner has used it.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at or datetime.now(UTC))
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_code(user: User, secret: str, code: str) -> bool:
    """Accept a code once: a valid code of a step already used (or older) is refused."""
    step = totp_step(secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


FAILURE_WINDOW = timedelta(minutes=15)
_TALLY_SQL = text(
    "INSERT INTO sign_in_failure_tally (window_start, email, reason, client_addr, actor_id) "
    "VALUES (:window, :email, :reason, CAST(:addr AS inet), :actor_id) "
    "ON CONFLICT (window_start, email, reason, coalesce(client_addr, '0.0.0.0'::inet)) "
    "DO UPDATE SET count = sign_in_failure_tally.count + 1, last_at = now() "
    "RETURNING id, count"
)


def record_failure(
    session: Session, email: str, reason: str, user: User | None, client_addr: str | None
) -> None:
    """Count a failed sign-in; only the first of identical ones in a window is audited.

    A spray of ten thousand guesses then costs the audit trail one event per account,
    address and quarter hour, with the number kept beside it (`sign_in_failure_tally`).
    """
    now = datetime.now(UTC)
    window = now - timedelta(seconds=now.timestamp() % FAILURE_WINDOW.total_seconds())
    email = normalise_email(email)[:254]
    tally_id, count = session.execute(_TALLY_SQL, {
        "window": window, "email": email, "reason": reason, "addr": client_addr,
        "actor_id": user.id if user else None,
    }).one()  # fmt: skip
    if count == 1:
        event = audit.record(session, "sign_in.failure", email,
                             actor_id=user.id if user else None, client_addr=client_addr,
                             details={"reason": reason})  # fmt: skip
        session.flush()
        session.execute(text("UPDATE sign_in_failure_tally SET audit_event_id = :e WHERE id = :t"),
                        {"e": event.id, "t": tally_id})  # fmt: skip


def sign_in(
    session: Session, email: str, password: str, totp: str, client_addr: str | None
) -> SignIn:
    """Check the credentials (and the second factor where set); open a login session.

    Every attempt is an audit event; the reason for a failure is recorded but
    the caller shows the person one message for all of them.
    """
    dummy = _dummy_hash()  # before the lookup: the first attempt pays for it on both paths
    user = user_by_email(session, email)
    reason = None
    try:
        _hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        reason = "credentials"
    if user is None:
        reason = "credentials"
    elif reason is None and not user.active:
        reason = "disabled"
    elif reason is None and user.totp_secret and not _accept_code(user, user.totp_secret,
                                                                 totp or ""):
        reason = "totp"
    if reason is not None:
        record_failure(session, email, reason, user, client_addr)
        session.commit()
        return SignIn(None, None, reason)
    assert user is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    login = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id,
                         last_seen_at=datetime.now(UTC))  # fmt: skip
    session.add(login)
    user.last_sign_in_at = datetime.now(UTC)
    audit.record(session, "sign_in.success", user.email, actor_id=user.id,
                 client_addr=client_addr)  # fmt: skip
    session.commit()
    return SignIn(user, login.id, None)


def sign_out(session: Session, session_id: str, client_addr: str | None) -> None:
    """End one login session: its cookie stops working, even if someone kept a copy."""
    login = session.get(LoginSession, session_id)
    if login is None or login.ended_at is not None:
        return
    login.ended_at = datetime.now(UTC)
    audit.record(session, "sign_out", login.user.email, actor_id=login.user_id,
                 client_addr=client_addr)  # fmt: skip
    session.commit()


@dataclass(frozen=True)
class Lifetimes:
    """How long a login session lives: after its last request, and at most."""

    idle: timedelta = timedelta(hours=1)
    absolute: timedelta = timedelta(hours=12)


TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def active_session(
    session: Session, session_id: str, lifetimes: Lifetimes | None = None
) -> LoginSession | None:
    """The login session behind a cookie, if it is open, not expired and its account active.

    A session quiet for longer than the idle lifetime, or older than the absolute one,
    is ended here on the server: a cookie left on a shared computer in the office stops
    working by itself.  Seen sessions are touched at most once a minute.
    """
    lifetimes = lifetimes or Lifetimes()
    login = session.get(LoginSession, session_id)
    if login is None or login.ended_at is not None or not login.user.active:
        return None
    now = datetime.now(UTC)
    if now - login.created_at > lifetimes.absolute or now - login.last_seen_at > lifetimes.idle:
        login.ended_at = now
        audit.record(session, "session.expire", login.user.email, actor_id=login.user_id)
        session.commit()
        return None
    if now - login.last_seen_at > TOUCH_EVERY:
        login.last_seen_at = now
        session.commit()
    return login


def change_password(
    session: Session, user: User, current: str, new: str, keep_session: str | None
) -> None:
    """Change the password after checking the current one; end the other sessions."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise AccountError("the current password is wrong") from exc
    check_password_strength(new)
    user.password_hash = _hasher.hash(new)
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
               LoginSession.id != (keep_session or ""))
        .values(ended_at=datetime.now(UTC))
    )  # fmt: skip
    audit.record(session, "password.change", user.email, actor_id=user.id, object_type="user",
                 object_id=user.id)  # fmt: skip
    session.commit()


def reset_password(session: Session, user: User, new: str, actor: str) -> None:
    """Set a password without knowing the old one (admins, the demo); ends all sessions."""
    check_password_strength(new)
    user.password_hash = _hasher.hash(new)
    user.active = True
    end_all_sessions(session, user.id)
    audit.record(session, "password.reset", actor, object_type="user", object_id=user.id)
    session.commit()


def new_totp_secret() -> str:
    """A fresh base32 secret for an authenticator app."""
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="geoapp")


def pending_totp_secret(session: Session, user: User) -> str:
    """The secret being enrolled, kept on the server (not in the cookie) until confirmed."""
    if not user.totp_pending:
        user.totp_pending = new_totp_secret()
        session.commit()
    return user.totp_pending


class WrongPasswordError(AccountError):
    """The password given to confirm an act is wrong."""


def enrol_totp(session: Session, user: User, password: str, code: str) -> None:
    """Turn on the second factor once the person proves both the password and the app.

    The password is asked again so that someone at an unlocked, signed-in computer
    cannot bind their own phone to another person's account.
    """
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise WrongPasswordError("the password is wrong") from exc
    secret = user.totp_pending
    if not secret or not _accept_code(user, secret, code):
        raise AccountError("the code does not match; check the time on the phone and try again")
    user.totp_secret, user.totp_pending = secret, None
    audit.record(session, "totp.enrol", user.email, actor_id=user.id, object_type="user",
                 object_id=user.id)  # fmt: skip
    session.commit()


def reset_second_factor(session: Session, user: User, actor: str) -> None:
    """Forget the account's second factor (a lost phone); every session of it ends.

    The person enrols a new one at the next sign-in, which coordinators and admins
    must do before anything else.
    """
    user.totp_secret = user.totp_pending = user.totp_last_step = None
    end_all_sessions(session, user.id)
    audit.record(session, "totp.reset", actor, object_type="user", object_id=user.id)
    session.commit()
