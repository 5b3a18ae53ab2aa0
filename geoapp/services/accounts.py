"""Staff accounts: passwords (argon2id), second factor (TOTP), roles, sessions.

Flask-free: the CLI and the web both come through here, and each function that
changes something writes its audit event in the same transaction.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
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
    """Admins must use a second factor."""
    return any(m.role is Role.ADMIN for m in user.memberships)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    user: User | None
    session_id: str | None
    reason: str | None  # why it failed: "credentials", "totp", "disabled"


def _totp_ok(secret: str, code: str) -> bool:
    return pyotp.TOTP(secret).verify(code.strip().replace(" ", ""), valid_window=1)


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
    elif reason is None and user.totp_secret and not _totp_ok(user.totp_secret, totp or ""):
        reason = "totp"
    if reason is not None:
        audit.record(session, "sign_in.failure", normalise_email(email)[:254],
                     actor_id=user.id if user else None, client_addr=client_addr,
                     details={"reason": reason})  # fmt: skip
        session.commit()
        return SignIn(None, None, reason)
    assert user is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    login = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id)
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


def active_session(session: Session, session_id: str) -> LoginSession | None:
    """The login session behind a cookie, if it is still open and its account active."""
    login = session.get(LoginSession, session_id)
    if login is None or login.ended_at is not None or not login.user.active:
        return None
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


def enrol_totp(session: Session, user: User, secret: str, code: str) -> None:
    """Turn on the second factor once the person proves their app produces the codes."""
    if not _totp_ok(secret, code):
        raise AccountError("the code does not match; check the time on the phone and try again")
    user.totp_secret = secret
    audit.record(session, "totp.enrol", user.email, actor_id=user.id, object_type="user",
                 object_id=user.id)  # fmt: skip
    session.commit()
