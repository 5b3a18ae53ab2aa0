"""Addresses to points and back, from the gazetteer: the one way in for every caller.

The report form and the incident import both come through `geocode`, so an
address means the same place wherever it is typed.  Scores are in [0, 1]:
the street's trigram similarity to the query, lowered for a house number
that had to be interpolated and for a street-only answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.geo.address import ParsedAddress, parse
from geoapp.services.communities import covers
from geoapp.services.geocode_online import OnlineGeocoder

# Candidate streets need a trigram similarity of at least pg_trgm's default 0.3 (the `%` operator).
INTERPOLATED_FACTOR = 0.8  # a house found between its neighbours
STREET_FACTOR = 0.7  # a street without (or without a known) house number
STREET_CANDIDATES = 5


@dataclass(frozen=True)
class Candidate:
    """One answer: what it is, where, and how sure."""

    label: str
    lon: float
    lat: float
    kind: str  # address | interpolated | street | settlement | external (online fallback)
    score: float
    street_key: str


def _house(session: Session, community_id: int, street: str, house: str, number: int | None):
    rows = session.execute(
        sql.load("geocode_house"),
        {"community_id": community_id, "street": street, "house": house,
         "number": number if number is not None else -1, "parity": (number or 0) % 2},
    ).all()  # fmt: skip
    return {row.hit: row for row in rows}


def _interpolate(below, above, number: int) -> tuple[float, float]:
    """Place a number linearly between its known neighbours of the same parity."""
    if below is None or above is None or above.house_number == below.house_number:
        only = below or above
        return only.lon, only.lat
    t = (number - below.house_number) / (above.house_number - below.house_number)
    return below.lon + t * (above.lon - below.lon), below.lat + t * (above.lat - below.lat)


ONLINE_SCORE = 0.5  # an outside service's answer: plausible, not verified against our data


def geocode(
    session: Session,
    query: str,
    community_id: int,
    limit: int = 5,
    fallback: OnlineGeocoder | None = None,
) -> list[Candidate]:
    """Ranked candidates for an address typed by a person, within one community.

    `fallback` (an online service) is asked only when the gazetteer has nothing,
    and only its answers inside the community are kept.
    """
    parsed = parse(query)
    if not parsed.street:
        return []
    found = _from_gazetteer(session, parsed, community_id)
    if not found and fallback is not None:
        found = _from_online(session, fallback, query, community_id)
    return found[:limit]


def _from_online(
    session: Session, fallback: OnlineGeocoder, query: str, community_id: int
) -> list[Candidate]:
    box = session.execute(
        text("SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
             "FROM community WHERE id = :c AND geom IS NOT NULL"), {"c": community_id}
    ).one_or_none()  # fmt: skip
    if box is None:
        return []
    out = []
    for label, lon, lat in fallback.search(query, tuple(box)):
        if covers(session, community_id, lon, lat):
            out.append(Candidate(label, lon, lat, "external", ONLINE_SCORE, ""))
    return out


def _from_gazetteer(session: Session, parsed: ParsedAddress, community_id: int) -> list[Candidate]:
    streets = session.execute(
        sql.load("geocode_streets_latin" if parsed.latin else "geocode_streets"),
        {"q": parsed.street, "community_id": community_id, "n": STREET_CANDIDATES},
    ).all()
    out: list[Candidate] = []
    seen: set[str] = set()
    for street in streets:
        key = street.canonical_key or street.street_key
        if key in seen:
            continue
        seen.add(key)
        sim = float(street.sim)
        if street.kind == "settlement":
            out.append(Candidate(street.name, street.lon, street.lat, "settlement",
                                 sim * STREET_FACTOR, key))  # fmt: skip
            continue
        if parsed.house:
            hits = _house(session, community_id, key, parsed.house, parsed.house_number)
            if "exact" in hits:
                h = hits["exact"]
                out.append(
                    Candidate(f"{street.name}, {h.house}", h.lon, h.lat, "address", sim, key)
                )
                continue
            number = parsed.house_number
            if number is not None and (hits.get("below") or hits.get("above") or hits.get("any")):
                below, above = hits.get("below"), hits.get("above")
                if below is None and above is None:
                    below = hits["any"]
                lon, lat = _interpolate(below, above, number)
                out.append(Candidate(f"{street.name}, {parsed.house}", lon, lat, "interpolated",
                                     sim * INTERPOLATED_FACTOR, key))  # fmt: skip
                continue
        out.append(
            Candidate(street.name, street.lon, street.lat, "street", sim * STREET_FACTOR, key)
        )
    out.sort(key=lambda c: c.score, reverse=True)
    return out


@dataclass(frozen=True)
class ReverseHit:
    """The nearest known address to a point."""

    label: str
    street: str
    lon: float
    lat: float
    distance_m: float
    community: str


def reverse(session: Session, lon: float, lat: float, radius_m: float = 500) -> ReverseHit | None:
    """The nearest address point within `radius_m`, or None."""
    row = session.execute(
        sql.load("geocode_reverse"), {"lon": lon, "lat": lat, "radius": radius_m}
    ).one_or_none()
    if row is None:
        return None
    label = f"{row.name}, {row.house}" if row.house else row.name
    return ReverseHit(label, row.name, row.lon, row.lat, round(float(row.metres), 1), row.slug)
