"""Geocoding typed addresses on a 1,000,000-point gazetteer: geoapp against a plain ILIKE search."""

from __future__ import annotations

import csv
import math
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.common import BOUNDARY_FOLDER, Outcome, Row, data_dir, log, scratch_database, timed
from geoapp import sql
from geoapp.geo.address import clean, latin_key, parse, street_key
from geoapp.geo.translit import transliterate
from geoapp.services.gazetteer import load
from geoapp.services.geocode import STREET_CANDIDATES, geocode
from geoapp.services.pilot import load_pilot

NAME = "geocode"
GOAL = 20.0  # geoapp queries per second / ILIKE queries per second, at accuracy >= ILIKE's
SEED = 7
COMMUNITY = "bucha"
STREETS = 2_000
HOUSES = 500  # per street, numbered 1..500: STREETS * HOUSES address points
LETTERS = "абв"  # suffixes of the lettered houses ("12а")
LETTER_SHARE = 0.05
STREET_LENGTH_M = (300.0, 1_500.0)
SIDE_OFFSET_M = 15.0  # odd numbers on one side of the street, even on the other
QUERIES = 1_000
WARM_UP = 50
TYPO_SHARE = 0.25
LATIN_SHARE = 0.15
FORMS = ("вул.", "no prefix", "вулиця")  # the clean forms, equally likely
MATCH_M = 1.0  # a top answer this close to the true point is right whatever its label
CODIFIER = Path("katotth") / "kodifikator-16-05-2025.csv"
SETTLEMENT_CATEGORIES = {"C", "M", "X", "K"}  # village, city, selyshche, special-status city
UKRAINIAN = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
CSV_NAME = "bench-addresses.csv"
ILIKE_QUERY = """
SELECT name, house, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gazetteer_entry
WHERE community_id = :c AND kind = 'address' AND name ILIKE '%' || :street || '%'
  AND house = :house
LIMIT 5
"""
ILIKE_PREFIX = re.compile(r"^(?:вулиця|вул\.?|vulytsia|vul\.?)\s+")
ILIKE_HOUSE = re.compile(r"\s+(\d\S*)$")


def street_names(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct settlement names from the KATOTTH codifier, to name streets after.

    Kept: names whose street key is the whole name lower-cased (no street-type
    word or initial that geoapp's parser would drop) and whose Cyrillic and
    Latin keys are unique, so that every query has exactly one right answer.
    """
    names: set[str] = set()
    with (data_dir() / CODIFIER).open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        for record in reader:
            if record[-2].strip() in SETTLEMENT_CATEGORIES and record[-1].strip():
                names.add(record[-1].strip())
    usable = sorted(name for name in names if street_key(f"вул. {name}") == clean(name))
    latin = Counter(latin_key(clean(name)) for name in usable)
    usable = [name for name in usable if latin[latin_key(clean(name))] == 1]
    return [usable[i] for i in sorted(rng.choice(len(usable), n, replace=False))]


def community(engine: Engine) -> tuple[int, shapely.Geometry]:
    """The benchmark community's id and boundary."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, ST_AsBinary(geom) FROM community WHERE slug = :s"), {"s": COMMUNITY}
        ).one()
    polygon = shapely.from_wkb(bytes(row[1]))
    shapely.prepare(polygon)
    return row[0], polygon


def street_houses(rng: np.random.Generator, polygon: shapely.Geometry) -> np.ndarray:
    """Points of houses 1..HOUSES along a random straight street inside `polygon` (HOUSES × 2).

    Odd numbers stand on one side, even on the other, in order along the
    street; a street is drawn again until every house is inside the polygon.
    """
    west, south, east, north = polygon.bounds
    lat0 = (south + north) / 2
    m_per_lon = 111_320.0 * math.cos(math.radians(lat0))
    m_per_lat = 110_574.0
    numbers = np.arange(1, HOUSES + 1)
    along = ((numbers - 1) // 2) / (HOUSES // 2 - 1)
    side = np.where(numbers % 2 == 1, 1.0, -1.0) * SIDE_OFFSET_M
    while True:
        x0, y0 = rng.uniform(west, east), rng.uniform(south, north)
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(*STREET_LENGTH_M)
        dx, dy = math.cos(angle), math.sin(angle)
        x = x0 + (along * length * dx - side * dy) / m_per_lon
        y = y0 + (along * length * dy + side * dx) / m_per_lat
        if shapely.contains_xy(polygon, x, y).all():
            return np.column_stack([x, y])


@dataclass
class Gazetteer:
    """The synthetic address points: street index, house as written, lon and lat."""

    names: list[str]  # street names without the type word
    street: np.ndarray
    house: list[str]
    lon: np.ndarray
    lat: np.ndarray

    def full_name(self, i: int) -> str:
        """The street of point `i` as the file writes it: "вул. <Name>"."""
        return f"вул. {self.names[self.street[i]]}"


def make_gazetteer(rng: np.random.Generator, polygon: shapely.Geometry) -> Gazetteer:
    """STREETS × HOUSES address points inside `polygon`, some houses with a letter suffix."""
    names = street_names(rng, STREETS)
    coords = np.concatenate([street_houses(rng, polygon) for _ in names])
    street = np.repeat(np.arange(len(names)), HOUSES)
    numbers = np.tile(np.arange(1, HOUSES + 1), len(names))
    lettered = rng.random(len(numbers)) < LETTER_SHARE
    letters = rng.choice(list(LETTERS), len(numbers))
    house = [
        f"{n}{letter}" if has else str(n)
        for n, letter, has in zip(
            numbers.tolist(), letters.tolist(), lettered.tolist(), strict=True
        )
    ]
    return Gazetteer(names, street, house, coords[:, 0], coords[:, 1])


def write_csv(path: Path, gaz: Gazetteer) -> None:
    """Write the gazetteer as a lon, lat, street, housenumber CSV for geoapp's loader."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["lon", "lat", "street", "housenumber"])
        full = [f"вул. {name}" for name in gaz.names]
        for s, house, x, y in zip(
            gaz.street.tolist(), gaz.house, gaz.lon.tolist(), gaz.lat.tolist(), strict=True
        ):
            writer.writerow([repr(x), repr(y), full[s], house])


@dataclass(frozen=True)
class Query:
    """A typed query, how it was typed, and the address point it means."""

    text: str
    form: str
    point: int


def typo(rng: np.random.Generator, name: str) -> str:
    """`name` with one letter (not the first) replaced by another Ukrainian letter."""
    positions = [i for i, ch in enumerate(name) if i > 0 and ch.lower() in UKRAINIAN]
    i = positions[int(rng.integers(len(positions)))]
    choices = [ch for ch in UKRAINIAN if ch != name[i].lower()]
    wrong = choices[int(rng.integers(len(choices)))]
    return name[:i] + (wrong.upper() if name[i].isupper() else wrong) + name[i + 1 :]


def typed(form: str, name: str, house: str) -> str:
    """The query for `name` and `house` in one of the clean FORMS."""
    if form == "вул.":
        return f"вул. {name} {house}"
    if form == "вулиця":
        return f"вулиця {name} {house}"
    return f"{name} {house}"


def make_queries(rng: np.random.Generator, gaz: Gazetteer, n: int) -> list[Query]:
    """`n` queries for distinct random address points, typed as people type them.

    A query is a typo (TYPO_SHARE), Latin (LATIN_SHARE) or else one of the clean
    FORMS; a typo or a Latin query starts from a clean form picked the same way.
    """
    points = rng.choice(len(gaz.house), n, replace=False)
    queries = []
    for point in points.tolist():
        u = rng.random()
        base = FORMS[int(rng.integers(len(FORMS)))]
        name, house = gaz.names[gaz.street[point]], gaz.house[point]
        if u < TYPO_SHARE:
            queries.append(Query(typed(base, typo(rng, name), house), "typo", point))
        elif u < TYPO_SHARE + LATIN_SHARE:
            queries.append(Query(transliterate(typed(base, name, house)), "Latin", point))
        else:
            queries.append(Query(typed(base, name, house), base, point))
    return queries


def ilike_terms(query: str) -> tuple[str, str | None]:
    """The baseline's reading of a query: (street as typed minus the prefix, house as typed)."""
    lowered = query.strip().lower()
    match = ILIKE_HOUSE.search(lowered)
    house = match.group(1) if match else None
    street = lowered[: match.start()] if match else lowered
    return ILIKE_PREFIX.sub("", street).strip(), house


@dataclass
class Measured:
    """One contender's pass over the queries: answers, per-query seconds, loop seconds."""

    answers: list[Any]
    latencies: np.ndarray
    wall_s: float

    @property
    def qps(self) -> float:
        """Queries answered per second over the whole loop."""
        return len(self.answers) / self.wall_s

    def percentile_ms(self, q: float) -> float:
        """A latency percentile in milliseconds."""
        return float(np.percentile(self.latencies, q) * 1000)


def measure(call: Callable[[str], Any], queries: list[Query], warm: list[Query]) -> Measured:
    """Run `call` on the warm-up queries untimed, then on `queries` one by one, timed."""
    for query in warm:
        call(query.text)
    answers: list[Any] = []
    latencies = np.empty(len(queries))
    with timed() as loop:
        for i, query in enumerate(queries):
            start = time.perf_counter()
            answers.append(call(query.text))
            latencies[i] = time.perf_counter() - start
    return Measured(answers, latencies, loop.seconds)


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance between two nearby points (equirectangular, good to well under 1 m here)."""
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000 * math.hypot(dx, math.radians(lat2 - lat1))


def geoapp_right(gaz: Gazetteer, query: Query, answer: list[Any]) -> bool:
    """Whether geocode's top candidate is the query's street and house (or within MATCH_M)."""
    if not answer:
        return False
    top, p = answer[0], query.point
    if top.street_key == street_key(gaz.full_name(p)) and top.label.endswith(f", {gaz.house[p]}"):
        return True
    return metres(top.lon, top.lat, gaz.lon[p], gaz.lat[p]) <= MATCH_M


def ilike_right(gaz: Gazetteer, query: Query, answer: list[Any]) -> bool:
    """Whether the ILIKE search's first row is the query's street and house (or within MATCH_M)."""
    if not answer:
        return False
    top, p = answer[0], query.point
    if top.name == gaz.full_name(p) and top.house == gaz.house[p]:
        return True
    return metres(top.lon, top.lat, gaz.lon[p], gaz.lat[p]) <= MATCH_M


def explain(session: Session, query: str, community_id: int) -> dict[str, list[str]]:
    """EXPLAIN ANALYZE of geoapp's street and house queries and of the ILIKE search for `query`."""
    parsed = parse(query)
    prefix = "EXPLAIN (ANALYZE, BUFFERS)\n"
    streets = "geocode_streets_latin" if parsed.latin else "geocode_streets"
    params = {"q": parsed.street, "community_id": community_id, "n": STREET_CANDIDATES}
    plans = {streets: list(session.execute(text(prefix + sql.raw(streets)), params).scalars())}
    top = session.execute(sql.load(streets), params).first()
    if top is not None and parsed.house:
        number = parsed.house_number
        house_params = {
            "community_id": community_id, "street": top.canonical_key or top.street_key,
            "house": parsed.house, "number": number if number is not None else -1,
            "parity": (number or 0) % 2,
        }  # fmt: skip
        plans["geocode_house"] = list(
            session.execute(text(prefix + sql.raw("geocode_house")), house_params).scalars()
        )
    street, house = ilike_terms(query)
    plans["ILIKE"] = list(
        session.execute(
            text(prefix + ILIKE_QUERY), {"c": community_id, "street": street, "house": house}
        ).scalars()
    )
    return plans


def plan_shape(session: Session, statement: str, params: dict[str, Any]) -> str:
    """The plan nodes of `statement` (EXPLAIN without ANALYZE), outermost first."""
    lines = session.execute(text("EXPLAIN (COSTS OFF)\n" + statement), params).scalars()
    nodes = [line.strip().removeprefix("->").strip() for line in lines]
    return " → ".join(node for node in nodes if node and ":" not in node)


def share(flags: list[bool]) -> str:
    """A share of true flags as a percentage."""
    return f"{100 * sum(flags) / len(flags):.1f} %" if flags else "n/a"


def run() -> Outcome:
    """Build and load the gazetteer, then time geoapp's geocode and the ILIKE search."""
    scratch = scratch_database(NAME)
    engine = scratch.engine
    with tempfile.TemporaryDirectory(prefix="bench-geocode-") as tmp:
        with Session(engine) as session:
            load_pilot(session, str(data_dir() / BOUNDARY_FOLDER), Path(tmp) / "cache")
        community_id, polygon = community(engine)
        rng = np.random.default_rng(SEED)
        gaz = make_gazetteer(rng, polygon)
        path = Path(tmp) / CSV_NAME
        write_csv(path, gaz)
        log(f"[{NAME}] {len(gaz.house):,} address points on {len(gaz.names):,} streets; loading")
        with Session(engine) as session, timed() as load_time:
            report = load(session, path, community_id)
    log(f"[{NAME}] gazetteer.load: {load_time.seconds:.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) gazetteer_entry"))

    everything = make_queries(rng, gaz, QUERIES + WARM_UP)
    warm, queries = everything[:WARM_UP], everything[WARM_UP:]
    with Session(engine) as session:
        try:

            def geoapp_call(q: str) -> list[Any]:
                """The answer of geoapp's geocode to a query."""
                return geocode(session, q, community_id)

            def ilike_call(q: str) -> list[Any]:
                """The baseline's answer to a query."""
                street, house = ilike_terms(q)
                params = {"c": community_id, "street": street, "house": house}
                return session.execute(text(ILIKE_QUERY), params).all()

            geoapp_run = measure(geoapp_call, queries, warm)
            log(f"[{NAME}] geocode: {geoapp_run.wall_s:.2f} s for {len(queries):,} queries")
            ilike_run = measure(ilike_call, queries, warm)
            log(f"[{NAME}] ILIKE: {ilike_run.wall_s:.2f} s for {len(queries):,} queries")
            sample = parse(queries[0].text)
            shapes = {
                "geoapp street query": plan_shape(
                    session,
                    sql.raw("geocode_streets"),
                    {"q": sample.street, "community_id": community_id, "n": STREET_CANDIDATES},
                ),
                "ILIKE": plan_shape(
                    session,
                    ILIKE_QUERY,
                    dict(zip(("street", "house"), ilike_terms(queries[0].text), strict=True))
                    | {"c": community_id},
                ),
            }
            slowest = queries[int(np.argmax(geoapp_run.latencies))].text
            speed_up = geoapp_run.qps / ilike_run.qps
            if speed_up < GOAL:
                log(f"[{NAME}] goal missed; EXPLAIN ANALYZE for the slowest geoapp query:")
                for which, plan in explain(session, slowest, community_id).items():
                    print(f"\n--- {which}: {slowest} ---\n" + "\n".join(plan), flush=True)
        finally:
            session.rollback()

    geoapp_ok = [geoapp_right(gaz, q, a) for q, a in zip(queries, geoapp_run.answers, strict=True)]
    ilike_ok = [ilike_right(gaz, q, a) for q, a in zip(queries, ilike_run.answers, strict=True)]
    geoapp_acc, ilike_acc = sum(geoapp_ok) / len(queries), sum(ilike_ok) / len(queries)
    accurate = geoapp_acc >= ilike_acc
    forms = Counter(q.form for q in queries)
    by_form = "; ".join(
        f"{form} {forms[form]}: geoapp "
        + share([ok for q, ok in zip(queries, geoapp_ok, strict=True) if q.form == form])
        + ", ILIKE "
        + share([ok for q, ok in zip(queries, ilike_ok, strict=True) if q.form == form])
        for form in (*FORMS, "typo", "Latin")
    )
    kinds = Counter(a[0].kind if a else "none" for a in geoapp_run.answers)
    empty = sum(1 for a in ilike_run.answers if not a)
    n = len(queries)
    rows = [
        Row(
            benchmark=f"geocode: {n:,} typed queries on {report.addresses:,} address points, "
            "geocode() vs ILIKE",
            geoapp_s=geoapp_run.wall_s,
            anchor_s=ilike_run.wall_s,
            ratio=f"{speed_up:.1f}× ({geoapp_run.qps:,.0f} vs {ilike_run.qps:,.1f} queries/s)",
            goal=f"≥ {GOAL:.0f}× at accuracy ≥ ILIKE's",
            met=speed_up >= GOAL and accurate,
        ),
        Row(
            benchmark="geocode: latency per query, p50 / p95",
            geoapp_s=None,
            anchor_s=None,
            ratio=f"geoapp {geoapp_run.percentile_ms(50):.1f} / "
            f"{geoapp_run.percentile_ms(95):.1f} ms, ILIKE {ilike_run.percentile_ms(50):.1f} / "
            f"{ilike_run.percentile_ms(95):.1f} ms",
            goal="n/a",
            met=None,
        ),
        Row(
            benchmark="geocode: accuracy (top answer is the right street and house)",
            geoapp_s=None,
            anchor_s=None,
            ratio=f"geoapp {100 * geoapp_acc:.1f} % vs ILIKE {100 * ilike_acc:.1f} %",
            goal="≥ ILIKE's",
            met=accurate,
        ),
        Row(
            benchmark=f"geocode: gazetteer.load of the {report.addresses:,}-point CSV",
            geoapp_s=load_time.seconds,
            anchor_s=None,
            ratio="n/a",
            goal="n/a",
            met=None,
        ),
    ]
    notes = [
        f'gazetteer: {STREETS:,} streets named "вул. <settlement name>" after distinct '
        f"KATOTTH settlement names (whose street and Latin keys are unique), houses 1–{HOUSES} "
        f'each ({100 * LETTER_SHARE:.0f} % with a letter suffix, "12а"), odd and even on '
        f"either side of a random straight {STREET_LENGTH_M[0]:.0f}–{STREET_LENGTH_M[1]:,.0f} m "
        f"street inside the {COMMUNITY} hromada's polygon; numpy default_rng({SEED})",
        f"load: geoapp's gazetteer.load of one CSV (reading and parsing included): "
        f"{report.addresses:,} address points, {report.streets:,} street rows, "
        f"{len(report.rejected)} rows rejected; then VACUUM (ANALYZE) gazetteer_entry, untimed, "
        "as autovacuum would after a big insert (the loader does not analyze; autovacuum is "
        "off on this server)",
        f"queries: {n:,} distinct address points drawn with the same generator, each typed "
        f"as a one-letter typo in the street name ({100 * TYPO_SHARE:.0f} %), in Latin letters "
        f"by geoapp's transliterate ({100 * LATIN_SHARE:.0f} %), or else equally often as "
        '"вул. Name 12", "Name 12" or "вулиця Name 12"; typos and Latin start from one of '
        "those three forms; a typo replaces one letter other than the first with another "
        f"Ukrainian letter; {WARM_UP} more queries drawn the same way warm each contender up "
        "untimed",
        "timing: both contenders in one session (one connection), geoapp first, one query at "
        "a time; queries/s = queries / wall time of the loop; latency = one call, client "
        "work included (geoapp: parse, street query, a house query per candidate street)",
        "baseline: `SELECT name, house, ST_X(geom), ST_Y(geom) FROM gazetteer_entry WHERE "
        "community_id = :c AND kind = 'address' AND name ILIKE '%' || :street || '%' AND "
        "house = :house LIMIT 5`, :street the query lower-cased minus a leading "
        '"вул."/"вулиця" (or "vul."/"vulytsia") and the trailing house number, :house '
        "that number as typed",
        f"accuracy: the top answer is right when it has the true street (geoapp: street key; "
        f"ILIKE: name) and house, or lies within {MATCH_M:.0f} m of the true point",
        f"accuracy by form (queries: geoapp, ILIKE): {by_form}",
        "geoapp's top answers by kind: "
        + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        + f"; ILIKE found no row for {empty} queries",
        f"plans for the first query ({queries[0].text!r}): "
        + "; ".join(f"{which}: {shape}" for which, shape in shapes.items()),
    ]
    engine.dispose()
    return Outcome(name=NAME, rows=rows, notes=notes, url=scratch.url)
