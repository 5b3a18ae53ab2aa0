"""Criminal Code articles to incident groups: the 20 chapters and the groups analysts use.

The article list (with each article's chapter) comes from the national statistics in
`$GEOAPP_DATA_DIR/crime-stats/`, which name every article of the Special Part; the
groups come from `data/incident_groups.toml`.  An article outside every group falls
in its chapter's category, so every known article has exactly one group.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.config import PROJECT_ROOT
from geoapp.models.category import Category

GROUPS = PROJECT_ROOT / "data" / "incident_groups.toml"
_ARTICLE = re.compile(r"^(?:ст(?:аття|\.)?\s*)?(\d{1,3})(?:\s*-\s*(\d{1,2}))?"
                      r"(?:\s*,?\s*ч(?:астина|\.)?\s*(\d{1,2}))?$")  # fmt: skip


@lru_cache(maxsize=4)
def known_articles(data_dir: str) -> dict[str, str]:
    """Every article of the Special Part and its chapter (roman).

    From the national statistics, plus the articles the groups file names.
    """
    out: dict[str, str] = {}
    for path in sorted(Path(data_dir).glob("crime-stats/pgo-national-by-article-*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out[row["Article"].split()[-1].rstrip("*")] = row["Chapter"].strip()
    # Articles newer than the statistics (286-1 dates from 2021) are known from the groups.
    for group in tomllib.loads(GROUPS.read_text(encoding="utf-8"))["group"]:
        for article in group["articles"]:
            out.setdefault(article, group["chapter"])
    return out


def normalise_article(raw: str, known: dict[str, str]) -> str | None:
    """The article a written reference means, or None when it is no known article.

    "ст. 185 ч. 2" -> "185"; "126-1" -> "126-1"; "185-2" -> "185" (part 2), because
    the Code has no article 185-2.
    """
    text = re.sub(r"\s+", " ", raw.strip().lower().replace("¹", "-1").replace("²", "-2"))
    match = _ARTICLE.match(text)
    if not match:
        return None
    number, suffix, _part = match.groups()
    if suffix and f"{number}-{suffix}" in known:
        return f"{number}-{suffix}"
    return number if number in known else None


def sync_groups(session: Session) -> int:
    """Insert or update the incident categories (chapters and groups); return how many."""
    data = tomllib.loads(GROUPS.read_text(encoding="utf-8"))
    wanted = []
    for roman, (uk, en) in data["chapters"].items():
        wanted.append({"code": f"chapter_{roman.lower()}", "name_uk": uk, "name_en": en,
                       "cc_chapter": roman, "cc_articles": [], "sensitive": False})  # fmt: skip
    for group in data["group"]:
        wanted.append({"code": group["code"], "name_uk": group["name_uk"],
                       "name_en": group["name_en"], "cc_chapter": group["chapter"],
                       "cc_articles": group["articles"],
                       "sensitive": bool(group.get("sensitive"))})  # fmt: skip
    existing = {c.code: c for c in session.scalars(
        select(Category).where(Category.domain == "incident"))}  # fmt: skip
    for position, entry in enumerate(wanted):
        row = existing.get(entry["code"]) or Category(code=entry["code"], domain="incident")
        for key, value in entry.items():
            setattr(row, key, value)
        row.position = position
        row.handling = "pin"
        session.add(row)
    session.commit()
    return len(wanted)


def group_of_article(session: Session, article: str, chapter: str) -> int | None:
    """The id of the group an article belongs to, else its chapter's category."""
    return groups_of_articles(session, {article: chapter})[article]


def groups_of_articles(session: Session, chapters: Mapping[str, str]) -> dict[str, int | None]:
    """`group_of_article` for many articles (article -> chapter) in one query.

    An export names a few hundred distinct articles; one query each was half a second.
    """
    rows = session.execute(
        select(Category.id, Category.code, Category.cc_chapter, Category.cc_articles).where(
            Category.domain == "incident"
        )
    ).all()
    out: dict[str, int | None] = {}
    for article, chapter in chapters.items():
        of_chapter = [r for r in rows if r.cc_chapter == chapter]
        group = next((r.id for r in of_chapter if r.cc_articles and article in r.cc_articles),
                     None)  # fmt: skip
        if group is None:
            chapter_code = f"chapter_{chapter.lower()}"
            group = next((r.id for r in of_chapter if r.code == chapter_code), None)
        out[article] = group
    return out
