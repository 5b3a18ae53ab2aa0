"""Categories of residents' concerns and of incident groups.

One table for both domains, so that a layer or an export can name a category
the same way whether it came from a resident or from police statistics.
"""

from __future__ import annotations

from sqlalchemy import Boolean, String, UniqueConstraint
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
