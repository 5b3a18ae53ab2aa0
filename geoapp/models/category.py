"""Categories of residents' concerns and of incident groups.

One table for both domains, so that a layer or an export can name a category
the same way whether it came from a resident or from police statistics.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class Category(Base):
    """A concern category or an incident group (with its Criminal Code articles)."""

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("domain", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str] = mapped_column(String(16))  # "concern" | "incident"
    name_uk: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    cc_chapter: Mapped[str | None] = mapped_column(String(8))
    cc_articles: Mapped[list[str] | None] = mapped_column(ARRAY(String(16)))
    # Concern categories: how a report of this kind is handled (pin | no_pin | warn), the
    # notice shown first (hotlines, "do not approach"), how far "nearby" reaches, list order.
    handling: Mapped[str] = mapped_column(String(8), default="pin", server_default="pin")
    notice_uk: Mapped[str | None] = mapped_column(String(500))
    notice_en: Mapped[str | None] = mapped_column(String(500))
    radius_m: Mapped[int] = mapped_column(default=100, server_default="100")
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    # NULL: every community; else a community's own addition.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
