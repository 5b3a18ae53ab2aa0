"""Issue 18, attacks 1-3, tried as an attacker would: through the HTTP API only, with a
partner token, a viewer's session or an anonymous browser.

1. A single offence located from the hot spot layer (one day, one group, 250 m cells).
2. Release differencing: the public table of a closed year, taken before and after one
   more incident of that year is imported.
3. Joint tables: the public tables of one year at every public cell size, linked by a
   linear programme over the atoms (non-empty intersections of their hexagons).

Each test states what the attacker would check and fails when the attacker learns
something: a cell that the single offence alone makes hot, a count or total that moves, a
withheld count an integer programme pins down.  The data is small and synthetic, in
closed years counted back from today (the policy publishes closed years only), so the
tests do not depend on the real date more than that.
"""

from __future__ import annotations

import json
import re
from datetime import date
from itertools import count

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.optimize import Bounds, LinearConstraint, milp
from sqlalchemy.orm import Session

from geoapp.analysis.hexgrid import covering_cells, hex_cells, hex_centres
from geoapp.services import tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in
from tests.helpers import forget_imports, forget_releases, publish_year

SLUG = "bucha"
API = f"/api/v1/communities/{SLUG}/layers"
THIS_YEAR = date.today().year
# Closed years of their own, older than the ones other test modules fill in Bucha.
YEAR_A, YEAR_B = THIS_YEAR - 3, THIS_YEAR - 4  # attack 1: with and without the offence
YEAR_DIFF = THIS_YEAR - 5  # attack 2
YEAR_JOINT = THIS_YEAR - 6  # attack 3
THEFT, SEXUAL = "185", "152"  # articles of the groups theft and sexual_offences
REFS = count()


# --- Setting the scene (the office's side, not the attacker's) ----------------------------


class Place:
    """Bucha in its metric CRS: the boundary, and points written as the office's file."""

    def __init__(self, engine) -> None:
        with Session(engine) as sess:
            bucha = get_by_slug(sess, SLUG)
            self.id, self.srid = bucha.id, bucha.metric_srid
            wkb = bytes(bucha.geom.data)
        self.to_lonlat = Transformer.from_crs(self.srid, 4326, always_xy=True)
        to_metric = Transformer.from_crs(4326, self.srid, always_xy=True)
        self.area = shapely.transform(
            shapely.from_wkb(wkb), lambda xy: np.column_stack(to_metric.transform(*xy.T))
        )
        shapely.prepare(self.area)

    def interior_centres(self, size: float, margin: float, spacing: float) -> np.ndarray:
        """Centres of cells of `size` at least `margin` inside, `spacing` apart (greedy)."""
        i, j = covering_cells(self.area, size)
        x, y = hex_centres(i, j, size)
        inner = self.area.buffer(-margin)
        keep = shapely.contains_xy(inner, x, y)
        chosen: list[tuple[float, float]] = []
        for px, py in zip(x[keep], y[keep], strict=True):
            if all(np.hypot(px - qx, py - qy) >= spacing for qx, qy in chosen):
                chosen.append((float(px), float(py)))
        return np.array(chosen)

    def uniform(self, rng, n: int, away_from: list[tuple[float, float, float]]) -> np.ndarray:
        """`n` points spread evenly over the community, none within r of any (x, y, r)."""
        minx, miny, maxx, maxy = self.area.bounds
        out: list[np.ndarray] = []
        while sum(len(o) for o in out) < n:
            x, y = rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000)
            ok = shapely.contains_xy(self.area, x, y)
            for cx, cy, r in away_from:
                ok &= np.hypot(x - cx, y - cy) > r
            out.append(np.column_stack([x[ok], y[ok]]))
        return np.concatenate(out)[:n]

    def rows(self, xy: np.ndarray, days: list[date], article: str) -> list[str]:
        """CSV lines (date, article, lon, lat, ref) for metric points."""
        lon, lat = self.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return [f"{d.isoformat()},{article},{lo:.7f},{la:.7f},ATTACK-{next(REFS)}"
                for d, lo, la in zip(days, lon, lat, strict=True)]  # fmt: skip


def around(rng, centre: tuple[float, float], n: int, radius: float) -> np.ndarray:
    """`n` points within `radius` metres of `centre`, evenly over the disc."""
    angle, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.uniform(0, 1, n))
    return np.column_stack([centre[0] + r * np.cos(angle), centre[1] + r * np.sin(angle)])


def days_of(rng, year: int, n: int, avoid: tuple[int, int] | None = None) -> list[date]:
    """`n` random days of `year` (the 1st to the 28th of a month), never on `avoid`."""
    out = []
    while len(out) < n:
        month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
        if (month, day) != avoid:
            out.append(date(year, month, day))
    return out


def import_lines(engine, app, tmp_path, lines: list[str]) -> None:
    """Import the lines as one file, as the office's staff would; every row must be taken."""
    path = tmp_path / f"attack-{next(REFS)}.csv"
    path.write_text("date,article,lon,lat,ref\n" + "\n".join(lines), encoding="utf-8")
    with Session(engine) as sess:
        bucha = get_by_slug(sess, SLUG)
        report = import_file(sess, path, bucha.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
    assert report.accepted == len(lines), report.rejected[:5]


@pytest.fixture(scope="module")
def place(engine):
    """Bucha, left as it was found: no incidents and no releases of these tests."""
    yield Place(engine)
    forget_releases(engine, SLUG)
    forget_imports(engine, SLUG)


@pytest.fixture(scope="module")
def partner(engine) -> dict[str, str]:
    """The headers of a partner holding a live token for Bucha."""
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Атакувальник", [get_by_slug(sess, SLUG)], 30,
                                    actor="test")  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def viewer(app, staff):
    """A viewer of Bucha, signed in through the real form (no second factor needed)."""
    client = app.test_client()
    assert sign_in(client, staff["viewer"]).status_code == 302
    return client


@pytest.fixture()
def analyst(app, staff):
    """An analyst of Bucha: exact counts, to check that an import really arrived."""
    client = app.test_client()
    assert sign_in(client, staff["analyst"]).status_code == 302
    return client


def fetch(caller, layer: str, query: dict, headers: dict | None = None):
    """GET one layer's GeoJSON and read the whole stream (its export audit then ends now,
    not when the response is collected, after the test database is gone)."""
    resp = caller.get(f"{API}/{layer}.geojson", query_string=query, headers=headers or {})
    resp.get_data()
    resp.close()
    return resp


def is_problem(resp) -> bool:
    """A refusal as the API promises it: a 4xx JSON problem, not a 500 or an HTML page."""
    return 400 <= resp.status_code < 500 and resp.mimetype == "application/problem+json"


def features_text(body: dict) -> list[str]:
    """The features as sorted JSON text: two answers are the same map when these are equal."""
    return sorted(json.dumps([f["geometry"], f["properties"]], sort_keys=True)
                  for f in body["features"])  # fmt: skip


# --- Attack 1: a single offence located from the hot spot layer ---------------------------

OFFENCE_DAY = (6, 15)


@pytest.fixture(scope="module")
def single_offence(engine, app, place, tmp_path_factory):
    """Two closed years of the same sparse thefts (a market cluster and a scatter); the
    later year has one sexual offence more, alone on its day and far from the rest.

    Both years are published: whatever the partner and the viewer may ask of year A
    must answer exactly as the same question of year B, or the offence shows through.
    """
    rng = np.random.default_rng(18)
    spots = place.interior_centres(1000, margin=2500, spacing=6000)
    assert len(spots) >= 2, "Bucha has room for two places 6 km apart"
    offence, market = spots[0], spots[-1]
    xy = np.concatenate([around(rng, market, 60, 250),
                         place.uniform(rng, 250, [(*offence, 2500)])])  # fmt: skip
    days = days_of(rng, YEAR_A, len(xy), avoid=OFFENCE_DAY)
    lines = place.rows(xy, days, THEFT)
    lines += place.rows(xy, [d.replace(year=YEAR_B) for d in days], THEFT)
    lines += place.rows(offence[None, :], [date(YEAR_A, *OFFENCE_DAY)], SEXUAL)
    import_lines(engine, app, tmp_path_factory.mktemp("single"), lines)
    publish_year(app, SLUG, YEAR_A)
    publish_year(app, SLUG, YEAR_B)
    return place.to_lonlat.transform(*offence)


def hotspot_questions(year: int) -> dict[str, dict[str, object]]:
    """Everything a partner might ask of the hot spot layers about one year."""
    day = date(year, *OFFENCE_DAY).isoformat()
    return {
        "one day, sexual offences, 250 m": {"from": day, "to": day, "group": "sexual_offences",
                                            "size": 250},
        "one day, sexual offences": {"from": day, "to": day, "group": "sexual_offences"},
        "one day, all groups, 250 m": {"from": day, "to": day, "size": 250},
        "one day": {"from": day, "to": day},
        "the year by from/to, sexual offences": {"from": f"{year}-01-01", "to": f"{year}-12-31",
                                                 "group": "sexual_offences"},
        "the year, sexual offences": {"period": year, "group": "sexual_offences"},
        "the year, 250 m": {"period": year, "size": 250},
        "the year": {"period": year},
        "the year, 500 m": {"period": year, "size": 500},
        "the year, 1000 m": {"period": year, "size": 1000},
    }  # fmt: skip


def attacker_guess(body: dict, offence: tuple[float, float]) -> str:
    """The attacker's reading of a hot spot map: the hottest class's disc centres on the
    offence, so the hot cell nearest the disc's middle is where it happened."""
    hot = [f for f in body["features"] if (f["properties"].get("gi_bin") or 0) > 0]
    if not hot:
        return "no hot cell"
    top = max(f["properties"]["gi_bin"] for f in hot)
    cells = [shapely.geometry.shape(f["geometry"]) for f in hot
             if f["properties"]["gi_bin"] == top]  # fmt: skip
    middle = shapely.MultiPoint([c.centroid for c in cells]).centroid
    guess = min(cells, key=lambda c: c.centroid.distance(middle))
    found = guess.covers(shapely.Point(offence))
    return (f"{len(hot)} hot cells, {len(cells)} of class {top}; the one at their middle "
            f"{'CONTAINS' if found else 'misses'} the offence")  # fmt: skip


def test_no_hot_spot_answer_tells_where_a_single_offence_happened(
    client, partner, viewer, single_offence
):
    """As a partner (token) and as a viewer: every hot spot question about year A, which
    holds the offence, is answered exactly as the same question about year B, which does
    not, or is refused with a 4xx problem; the one-day question of the issue is refused."""
    offence = single_offence
    callers = {"partner": (client, partner), "viewer": (viewer, {})}
    leaks = []
    for who, (caller, headers) in callers.items():
        for layer in ("hotspots", "emerging_hotspots"):
            with_it, without = hotspot_questions(YEAR_A), hotspot_questions(YEAR_B)
            for name, query in with_it.items():
                got = fetch(caller, layer, query, headers)
                alike = fetch(caller, layer, without[name], headers)
                asked = f"{who}, {layer}, {name}"
                for resp in (got, alike):
                    if resp.status_code != 200 and not is_problem(resp):
                        leaks.append(f"{asked}: answered {resp.status_code} {resp.mimetype}")
                if got.status_code != alike.status_code:
                    leaks.append(f"{asked}: {got.status_code} with the offence, "
                                 f"{alike.status_code} without")  # fmt: skip
                elif got.status_code == 200 and features_text(got.get_json()) != features_text(
                    alike.get_json()
                ):
                    leaks.append(f"{asked}: the map differs with the offence; "
                                 f"{attacker_guess(got.get_json(), offence)}")  # fmt: skip
        one_day = hotspot_questions(YEAR_A)["one day, sexual offences, 250 m"]
        headline = fetch(caller, "hotspots", one_day, headers)
        if not is_problem(headline):
            leaks.append(f"{who}: the one-day, one-group, 250 m question was answered "
                         f"{headline.status_code}, not refused")  # fmt: skip
        # Not a vacuous pass: the published year itself is offered, as classes.
        year = fetch(caller, "hotspots", {"period": YEAR_A}, headers)
        assert year.status_code == 200 and year.get_json()["features"], who
    assert not leaks, "\n".join(leaks)


# --- Attack 2: differencing two releases of one year ---------------------------------------


@pytest.fixture(scope="module")
def differencing(engine, app, place, tmp_path_factory):
    """A closed year (a busy cluster and a scatter), published; and the place where one
    more incident of that year will land, in a cell that holds nothing yet."""
    rng = np.random.default_rng(2)
    spots = place.interior_centres(1000, margin=2500, spacing=6000)
    extra, market = spots[0], spots[-1]
    xy = np.concatenate([around(rng, market, 80, 200),
                         place.uniform(rng, 120, [(*extra, 2500)])])  # fmt: skip
    folder = tmp_path_factory.mktemp("differencing")
    import_lines(engine, app, folder, place.rows(xy, days_of(rng, YEAR_DIFF, len(xy)), THEFT))
    publish_year(app, SLUG, YEAR_DIFF)
    later = place.rows(extra[None, :], [date(YEAR_DIFF, 7, 1)], THEFT)
    return lambda: import_lines(engine, app, folder, later)


def test_a_later_import_changes_nothing_the_public_sees(client, app, analyst, differencing):
    """The public table of a closed year, taken before and after one more incident of that
    year arrives: every count, every withheld mark and the total stay as they were (at
    every size the public may ask for), while staff see the new incident at once."""
    sizes = [None, *app.config["GEOAPP_PUBLIC_CELL_SIZES"]]
    questions = [{"period": YEAR_DIFF, **({"size": s} if s else {})} for s in sizes]

    def take() -> list:
        out = []
        for query in questions:
            resp = fetch(client, "incident_cells", query)
            assert resp.status_code == 200 or is_problem(resp), (query, resp.status_code)
            body = resp.get_json()
            meta = body.get("metadata", {})
            out.append((resp.status_code, features_text(body) if "features" in body else None,
                        meta.get("total"), meta.get("suppressed_cells")))  # fmt: skip
        return out

    def exact_total() -> int:
        body = fetch(analyst, "incident_cells", {"period": YEAR_DIFF, "size": 1000}).get_json()
        return body["metadata"]["total"]["count"]

    before, staff_before = take(), exact_total()
    assert any(status == 200 and feats for status, feats, _t, _s in before), "a table is public"
    differencing()
    after = take()
    assert exact_total() == staff_before + 1, "staff see the new incident at once"
    changes = []
    for query, (s0, f0, t0, w0), (s1, f1, t1, w1) in zip(questions, before, after, strict=True):
        if s0 != s1:
            changes.append(f"{query}: answered {s0}, then {s1}")
            continue
        if t0 != t1:
            changes.append(f"{query}: the total went from {t0} to {t1}")
        if w0 != w1:
            changes.append(f"{query}: withheld cells went from {w0} to {w1}")
        if f0 != f1:
            new = sorted(set(f1 or []) - set(f0 or []))
            changes.append(f"{query}: {len(new)} features changed or appeared, e.g. "
                           f"{[json.loads(n)[1] for n in new[:3]]}")  # fmt: skip
    assert not changes, "\n".join(changes)


# --- Attack 3: the public tables of one year, joined by a linear programme ------------------


@pytest.fixture(scope="module")
def joint(engine, app, place, tmp_path_factory):
    """A closed year built so that two non-nested partitions pin a withheld cell down.

    In one 1 km hexagon H: 10 incidents in its central 500 m cell P and 2 in the part of
    a neighbouring 500 m cell Q that lies inside H, nothing else within kilometres.  Each
    table alone protects Q (2, withheld); together P = 10 and H = 12 give Q = 2.  Beside
    them a busy market (60) and four quiet cells (3, 4, 2, 5), each alone in its 1 km cell.
    """
    rng = np.random.default_rng(3)
    spots = place.interior_centres(1000, margin=1500, spacing=4000)
    assert len(spots) >= 6, "Bucha has room for six places 4 km apart"
    h, market, quiet = spots[0], spots[1], spots[2:6]
    towards_q = np.array([0.0, 1.0])  # Q is the 500 m cell above P; H's edge crosses it
    xy = [around(rng, h, 10, 150), h + towards_q * 650 + rng.uniform(-60, 60, (2, 2)),
          around(rng, market, 60, 150)]  # fmt: skip
    xy += [around(rng, c, n, 150) for c, n in zip(quiet, (3, 4, 2, 5), strict=True)]
    xy = np.concatenate(xy)
    # The scene is as described: P, Q and H hold what they should.
    for size, cell, n in ((500, h, 10), (500, h + towards_q * 866, 2), (1000, h, 12)):
        ci, cj = hex_cells(xy[:, 0], xy[:, 1], size)
        ti, tj = hex_cells(np.array([cell[0]]), np.array([cell[1]]), size)
        assert ((ci == ti[0]) & (cj == tj[0])).sum() == n, (size, n)
    import_lines(engine, app, tmp_path_factory.mktemp("joint"),
                 place.rows(xy, days_of(rng, YEAR_JOINT, len(xy)), THEFT))  # fmt: skip
    publish_year(app, SLUG, YEAR_JOINT)


def metric_cells(body: dict) -> tuple[list[shapely.Polygon], list[int | None], int | None]:
    """A public table as the attacker reads it: hexagons in metres, counts (None when
    withheld; zero cells are left out), the total (None when withheld)."""
    unit = body["metadata"].get("aggregation_unit") or ""
    epsg = re.search(r"EPSG:(\d+)", unit)
    first = body["features"][0]["geometry"]["coordinates"][0][0]
    crs = int(epsg.group(1)) if epsg else 32600 + int((first[0] + 180) // 6) + 1  # local UTM
    to_metric = Transformer.from_crs(4326, crs, always_xy=True)
    cells, counts = [], []
    for f in body["features"]:
        n = f["properties"]["count"]
        if n == 0:
            continue
        shape = shapely.geometry.shape(f["geometry"])
        cells.append(shapely.transform(shape, lambda xy: np.column_stack(
            to_metric.transform(*xy.T))))  # fmt: skip
        counts.append(None if f["properties"]["suppressed"] else n)
    total = body["metadata"]["total"]
    return cells, counts, None if total["suppressed"] else total["count"]


def attacker_intervals(tables: dict[int, dict]) -> dict[tuple[int, int], tuple[float, float]]:
    """Per withheld cell (size, index): the least and greatest integer count consistent with
    every table given, by mixed-integer programmes over the atoms.

    Atoms are the non-empty intersections of the tables' non-zero cells (an atom outside
    any table's non-zero cells holds nothing); each atom's count is an integer >= 0; a
    published cell is the sum of its atoms, a withheld one at least 1, each total the sum
    of all atoms.
    """
    read = {size: metric_cells(body) for size, body in tables.items()}
    sizes = list(read)
    atoms: list[tuple[shapely.Geometry, dict[int, int]]] = [
        (cell, {sizes[0]: k}) for k, cell in enumerate(read[sizes[0]][0])
    ]
    for size in sizes[1:]:
        cells = read[size][0]
        tree = shapely.STRtree(cells)
        refined = []
        for shape, member in atoms:
            for k in tree.query(shape, predicate="intersects").tolist():
                piece = shape.intersection(cells[k])
                if piece.area > 100:  # m²: hexagons that only touch leave slivers of rounding
                    refined.append((piece, {**member, size: int(k)}))
        atoms = refined
    n = len(atoms)
    eq_rows, eq_b, ge_rows = [], [], []
    withheld = []
    for size in sizes:
        cells, counts, total = read[size]
        for k, c in enumerate(counts):
            row = np.array([member[size] == k for _s, member in atoms], dtype=float)
            if c is None:
                ge_rows.append(row)
                withheld.append(((size, k), row))
            else:
                eq_rows.append(row)
                eq_b.append(c)
        if total is not None:
            eq_rows.append(np.ones(n))
            eq_b.append(total)
    constraints = []
    if eq_rows:
        constraints.append(LinearConstraint(np.array(eq_rows), eq_b, eq_b))
    if ge_rows:
        constraints.append(LinearConstraint(np.array(ge_rows), 1, np.inf))
    bounds, integral = Bounds(np.zeros(n), np.full(n, np.inf)), np.ones(n)
    out = {}
    for key, row in withheld:
        low = milp(row, constraints=constraints, bounds=bounds, integrality=integral)
        high = milp(-row, constraints=constraints, bounds=bounds, integrality=integral)
        assert low.status == 0, f"the attacker's model of {key} is infeasible: {low.message}"
        out[key] = (round(low.fun), -round(high.fun) if high.status == 0 else float("inf"))
    return out


def test_the_public_tables_of_a_year_together_determine_no_withheld_cell(client, app, joint):
    """Anonymous: every public cell size's table of the year (and the default one), linked
    by an integer programme; no withheld cell may have only one possible count."""
    tables: dict[int, dict] = {}
    refused = []
    for size in [None, *app.config["GEOAPP_PUBLIC_CELL_SIZES"]]:
        query = {"period": YEAR_JOINT, **({"size": size} if size else {})}
        resp = fetch(client, "incident_cells", query)
        if resp.status_code != 200:
            assert is_problem(resp), (query, resp.status_code, resp.mimetype)
            refused.append(size)
            continue
        body = resp.get_json()
        tables[body["metadata"]["cell_size_m"]] = body
    assert tables, f"no public table of {YEAR_JOINT} (refused: {refused})"
    assert any(f["properties"]["suppressed"] for body in tables.values()
               for f in body["features"]), "the year has withheld cells"  # fmt: skip
    intervals = attacker_intervals(tables)
    determined = {key: span for key, span in intervals.items() if span[1] - span[0] < 1}
    shown = ", ".join(f"{s} m #{k}: [{lo}, {hi}]" for (s, k), (lo, hi) in sorted(intervals.items()))
    assert not determined, (f"tables of {sorted(tables)} m (refused: {refused}) determine "
                            f"{len(determined)} withheld cells; intervals {shown}")  # fmt: skip
