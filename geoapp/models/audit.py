"""The audit trail: who did what, when, where, to which object, from which address.

Append-only in the database itself: a trigger refuses UPDATE and DELETE, so not
even a bug in the app (or a careless admin with the app's credentials) can
rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class AuditEvent(Base):
    """One recorded act."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # Plain ids, no foreign keys: history must survive the deletion of what it names,
    # and a cascade would try to rewrite an append-only table.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))  # email or "cli" or "token:<prefix>"
    action: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(INET)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
