"""The KATOTTH codifier: what level a code is, and whether a code looks right.

The Ministry's codifier is the authority on the level of a unit; OSM's
`admin_level` is the fallback when the codifier is not at hand.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from geoapp.models.community import CommunityLevel

CODE_RE = re.compile(r"^UA\d{17}$")
ARC_CODE = "UA01000000000013043"

_CATEGORY_LEVEL = {
    "O": CommunityLevel.OBLAST,
    "K": CommunityLevel.SPECIAL_CITY,
    "P": CommunityLevel.RAION,
    "H": CommunityLevel.HROMADA,
    "M": CommunityLevel.SETTLEMENT,
    "X": CommunityLevel.SETTLEMENT,
    "C": CommunityLevel.SETTLEMENT,
    "B": CommunityLevel.CITY_DISTRICT,
}
_ADMIN_LEVEL = {
    "4": CommunityLevel.OBLAST,
    "6": CommunityLevel.RAION,
    "7": CommunityLevel.HROMADA,
    "8": CommunityLevel.SETTLEMENT,
    "9": CommunityLevel.SETTLEMENT,
    "10": CommunityLevel.CITY_DISTRICT,
}
CODIFIER_GLOB = "katotth/kodifikator-*.csv"


def is_valid_code(code: str) -> bool:
    """A KATOTTH code is `UA` and 17 digits."""
    return bool(CODE_RE.match(code))


@lru_cache(maxsize=4)
def load_codifier(data_dir: str) -> dict[str, tuple[str, str]]:
    """Map each code to (category letter, official name), from the newest codifier file.

    Returns an empty mapping when the data folder has no codifier: levels then
    come from the boundary file's own attributes.
    """
    files = sorted(Path(data_dir).glob(CODIFIER_GLOB))
    if not files:
        return {}
    codes: dict[str, tuple[str, str]] = {}
    with files[-1].open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader, None)
        for row in reader:
            if len(row) < 7:
                continue
            own = next((c for c in reversed(row[:5]) if c.strip()), "")
            if own:
                codes[own.strip()] = (row[5].strip(), row[6].strip())
    return codes


def level_of(
    code: str, admin_level: object, codifier: dict[str, tuple[str, str]]
) -> CommunityLevel | None:
    """The unit's level: the codifier's category, else OSM's admin_level, else None."""
    if code == ARC_CODE:
        return CommunityLevel.ARC
    if code in codifier:
        return _CATEGORY_LEVEL.get(codifier[code][0])
    if admin_level is not None:
        return _ADMIN_LEVEL.get(str(admin_level).strip())
    return None


SETTLEMENT_PREFIX = {"M": "м.", "X": "с-ще", "C": "с."}


@lru_cache(maxsize=64)
def settlements_of(data_dir: str, community_code: str) -> dict[str, str]:
    """Official names of a hromada's settlements, keyed by their lower-case name.

    "ворзель" -> "с-ще Ворзель": the codifier is the authority on what a
    settlement is called; OSM's `place=*` nodes give where it is.
    """
    files = sorted(Path(data_dir).glob(CODIFIER_GLOB))
    if not files or not is_valid_code(community_code):
        return {}
    out: dict[str, str] = {}
    with files[-1].open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader, None)
        for row in reader:
            if len(row) < 7 or community_code not in row[:3] or row[5] not in SETTLEMENT_PREFIX:
                continue
            name = row[6].strip()
            out[name.lower().replace("’", "'")] = f"{SETTLEMENT_PREFIX[row[5]]} {name}"
    return out
