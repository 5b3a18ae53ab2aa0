"""Concern categories: the default list from data/concern_categories.toml, synced into the DB.

`geoapp db upgrade` calls `sync_defaults`, so editing the data file and
upgrading is how the list changes; codes stay stable, names may change.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geoapp.config import PROJECT_ROOT
from geoapp.models.category import Category

DEFAULTS = PROJECT_ROOT / "data" / "concern_categories.toml"
HANDLING = ("pin", "no_pin", "warn")
MAX_NAME = 255  # category.name_uk, category.name_en


def read_defaults(path: Path = DEFAULTS) -> list[dict]:
    """The [[category]] entries, checked: a bad entry names its code and key."""
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["category"]
    for entry in entries:
        for key in ("code", "name_uk", "name_en"):
            if not entry.get(key):
                raise ValueError(f"{path.name}: category {entry.get('code', '?')}: '{key}' missing")
        if entry.get("handling", "pin") not in HANDLING:
            raise ValueError(f"{path.name}: category {entry['code']}: bad 'handling'")
    return entries


def sync_defaults(session: Session) -> int:
    """Insert or update the default concern categories; return how many there are."""
    entries = read_defaults()
    existing = {
        c.code: c
        for c in session.scalars(
            select(Category).where(Category.domain == "concern", Category.community_id.is_(None))
        )
    }
    for position, entry in enumerate(entries):
        row = existing.get(entry["code"]) or Category(code=entry["code"], domain="concern")
        row.name_uk, row.name_en = entry["name_uk"], entry["name_en"]
        row.sensitive = bool(entry.get("sensitive", False))
        row.handling = entry.get("handling", "pin")
        row.notice_uk, row.notice_en = entry.get("notice_uk"), entry.get("notice_en")
        row.radius_m = int(entry.get("radius_m", 100))
        row.position = position
        session.add(row)
    session.commit()
    return len(entries)


def for_community(session: Session, community_id: int) -> list[Category]:
    """The concern categories a community offers: the defaults and its own additions."""
    return list(
        session.scalars(
            select(Category)
            .where(Category.domain == "concern",
                   or_(Category.community_id.is_(None), Category.community_id == community_id))
            .order_by(Category.position, Category.id)
        )
    )  # fmt: skip


def add_for_community(
    session: Session,
    community_id: int,
    code: str,
    name_uk: str,
    name_en: str,
    sensitive: bool = False,
    radius_m: int = 100,
) -> Category:
    """A community's own concern category (e.g. "flooded underpass" for one hromada).

    Codes must not repeat a default category's code: a resident's choice must mean
    the same thing everywhere it is counted.
    """
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", code):
        raise ValueError("a code is lower-case latin letters, digits and _, e.g. flooded_underpass")
    if not name_uk.strip() or not name_en.strip():
        raise ValueError("both names (uk and en) are needed")
    if max(len(name_uk.strip()), len(name_en.strip())) > MAX_NAME:
        raise ValueError(f"a name may have at most {MAX_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name_uk + name_en):
        raise ValueError("a name may not contain control characters")
    if not 1 <= radius_m <= 10_000:
        raise ValueError("the radius is 1 to 10000 metres")
    clash = session.scalar(select(Category).where(Category.domain == "concern",
                                                  Category.code == code))  # fmt: skip
    if clash is not None:
        raise ValueError(f"the code '{code}' is taken")
    row = Category(code=code, domain="concern", name_uk=name_uk.strip(),
                   name_en=name_en.strip(), sensitive=sensitive, radius_m=radius_m,
                   position=1000, community_id=community_id)  # fmt: skip
    session.add(row)
    session.commit()
    return row
