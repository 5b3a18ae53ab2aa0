"""The gazetteer: address points, streets and settlements of a community, for geocoding.

One table for the three kinds keeps search a single indexed query. Streets are
derived from address points at load time (their centroid), so a query without a
house number, or with an unknown one, still lands on the right street.
"""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from geoapp.models.base import Base


class GazetteerEntry(Base):
    """An address point, a street or a settlement, with normalised keys."""

    __tablename__ = "gazetteer_entry"
    __table_args__ = (
        Index("ix_gazetteer_lookup", "community_id", "kind", "street_key", "house"),
        # Fuzzy search looks at streets and settlements only, never at the address points.
        Index(
            "ix_gazetteer_street_trgm",
            "street_key",
            postgresql_using="gin",
            postgresql_ops={"street_key": "gin_trgm_ops"},
            postgresql_where=text("kind <> 'address'"),
        ),
        Index(
            "ix_gazetteer_latin_trgm",
            "latin_key",
            postgresql_using="gin",
            postgresql_ops={"latin_key": "gin_trgm_ops"},
            postgresql_where=text("kind <> 'address'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # address | street | settlement
    name: Mapped[str] = mapped_column(String(300))  # street or settlement name as written
    street_key: Mapped[str] = mapped_column(String(300))  # geoapp.geo.address.street_key
    latin_key: Mapped[str] = mapped_column(String(300))  # its official transliteration
    house: Mapped[str | None] = mapped_column(String(32))  # normalised house number
    house_number: Mapped[int | None] = mapped_column(Integer)  # its leading integer
    # On an alias row (a former name): the key of the current name, where the addresses are.
    canonical_key: Mapped[str | None] = mapped_column(String(300))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
