"""The demo set-up `make run` prints: a coordinator of every pilot community.

Each run gives the demo account a fresh random password (only its hash is
kept, so the old one cannot be shown again); the account is an ordinary
coordinator, with no second factor, and is meant for a local machine.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.models.community import Community
from geoapp.models.user import Agency, Role
from geoapp.services import accounts

DEMO_EMAIL = "demo.coordinator@geoapp.local"


def ensure_demo_staff(session: Session) -> tuple[str, str]:
    """Create or re-key the demo coordinator; return (email, new password)."""
    password = secrets.token_urlsafe(12)
    user = accounts.user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = accounts.create_user(
            session, DEMO_EMAIL, "Демо-координатор", Agency.PROSECUTOR, password, actor="demo"
        )
    else:
        accounts.reset_password(session, user, password, actor="demo")
    pilots = session.scalars(select(Community).where(Community.pilot)).all()
    for community in pilots:
        accounts.grant(session, user, community, Role.COORDINATOR, actor="demo")
    session.commit()
    return DEMO_EMAIL, password
