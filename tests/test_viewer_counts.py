"""Attacks by a viewer on the staff pages that count offences: a measure drawn tight around
a few offences, and a planning priority on one 250 m hot spot cell.

Viewers may not see individual incidents (DESIGN.md, Roles), so an exact count of 1 to
k - 1 in an area someone drew, or in a cell someone chose, over a window someone chose,
must not reach them: the measure page says "менше 10" and leaves out the monthly chart,
the session page says "менше 10 правопорушень".  The minutes may leave the room, so they
withhold such a count for every role, the coordinator's included.  Analysts keep the exact
numbers and the chart.  On real PostGIS, with three offences planted in the quiet east
of Bucha on top of the `planted` year; and in Chromium, the viewer's session map.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pytest
import shapely
from playwright.sync_api import expect
from pypdf import PdfReader
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import privacy
from geoapp.analysis.hexgrid import hex_cells
from geoapp.models.measure import Measure
from geoapp.services import measure_effects, measures, planning
from geoapp.services.communities import get_by_slug
from geoapp.services.hotspots import HotspotQuery
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in
from tests.test_hotspots import planted  # noqa: F401 - shared fixture
from tests.test_incident_browser import sign_in as browser_sign_in

K = 10
LONELY = (30.2380, 50.5530)  # about 2 km east of the station: background offences only
OFFENCES = ("2025-03-04", "2025-05-20", "2025-09-15")  # two before the start, one after
START = date(2025, 7, 1)
SESSION_TITLE = "Засідання: грабежі на тихій вулиці"
PRIORITY = "Грабежі на тихій вулиці"
SMALL = re.compile(r"(?<!\d)(?<!\d[\s\u00a0])(\d+)\s*правопорушен")


@dataclass(frozen=True)
class Few:
    """The measure and the session built around the three planted offences."""

    measure_id: str
    session_id: int
    target: tuple[int, int]  # offences in the target area before and after the start
    evidence: int  # offences in the priority's cell over 2025


@pytest.fixture(scope="module")
def few(engine, app, staff, planted, tmp_path_factory):  # noqa: F811
    """Three offences within 15 m of `LONELY`, a measure 80 m square around them, and a
    session whose priority is the 250 m cell they are in (the year 2025)."""
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        srid = bucha.metric_srid
        to_metric = Transformer.from_crs(4326, srid, always_xy=True)
        x, y = to_metric.transform(*LONELY)
        area = shapely.transform(
            shapely.from_wkb(bytes(bucha.geom.data)),
            lambda xy: np.column_stack(to_metric.transform(*xy.T)),
        )
        assert area.contains(shapely.Point(x, y).buffer(500)), "LONELY must lie inside Bucha"
        lines = ["date,article,lon,lat,ref"]
        for n, day in enumerate(OFFENCES):
            lon, lat = to_metric.transform(x + 5 * n, y - 4 * n, direction="INVERSE")
            lines.append(f"{day},186,{lon:.6f},{lat:.6f},F-{n}")
        path = tmp_path_factory.mktemp("few") / "few.csv"
        path.write_text("\n".join(lines), encoding="utf-8")
        report = import_file(sess, path, bucha.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
        assert report.accepted == 3, report.rejected

        square = shapely.box(x - 40, y - 40, x + 40, y + 40)
        ring = np.asarray(square.exterior.coords)
        slon, slat = to_metric.transform(ring[:, 0], ring[:, 1], direction="INVERSE")
        drawn = json.dumps({"type": "Polygon", "coordinates": [list(zip(slon, slat, strict=True))]})
        draft = measures.MeasureDraft(title="Ліхтарі на тихій вулиці", kind="lighting",
                                      agency="Бучанська міська рада", owner="Іван Петренко",
                                      start_on=START.isoformat(), target_geojson=drawn)  # fmt: skip
        actor = sess.scalar(text("SELECT id FROM app_user WHERE email = :e"),
                            {"e": staff["coordinator"].email})  # fmt: skip
        measure = measures.create(sess, bucha, measures.validate(sess, bucha, draft), actor)
        effect = measure_effects.effect(sess, measure)
        assert isinstance(effect, measure_effects.Effect)
        target = (effect.incidents.target.before, effect.incidents.target.after)

        i, j = hex_cells(np.array([x]), np.array([y]), 250.0)
        cell = (int(i[0]), int(j[0]))
        query = HotspotQuery(bucha.id, date(2025, 1, 1), date(2025, 12, 31), (), 250)
        evidence = planning.cell_evidence(sess, query, [cell], None).as_json()
        found = planning.create(sess, bucha, SESSION_TITLE, "2026-02-10", actor)
        planning.add_priority(sess, found, PRIORITY, "", evidence)
        made = Few(measure.public_id, found.id, target, evidence["incidents"])
        measure_pk, session_pk = measure.id, found.id
    # The attack's premise: counts a viewer may not see, 0 < n < k, where they are shown.
    assert all(0 < n < K for n in made.target), made
    assert 0 < made.evidence < K, made
    yield made
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM measure WHERE id = :m"), {"m": measure_pk})
        sess.execute(text("DELETE FROM planning_session WHERE id = :s"), {"s": session_pk})
        sess.commit()


def _as(app, person):
    client = app.test_client()
    assert sign_in(client, person).status_code == 302
    return client


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _offence_cells(html: str) -> dict[str, list[str]]:
    """The two offence columns (before, after) of each row of the evaluation table."""
    rows = {}
    for area, body in re.findall(r'<tr data-area="(\w+)">(.*?)</tr>', html, re.S):
        cells = re.findall(r'<td class="num">(.*?)</td>', body, re.S)
        rows[area] = [" ".join(c.split()) for c in cells[:2]]
    return rows


def _evaluation(html: str) -> str:
    found = re.search(r'<section class="panel" id="evaluation".*?</section>', html, re.S)
    assert found, "no evaluation section"
    return found.group(0)


def _small_counts(html: str) -> list[int]:
    """Every "N правопорушен…" on a page with 0 < N < k."""
    plain = re.sub(r"<[^>]+>", " ", html)
    return [int(n) for n in SMALL.findall(plain) if 0 < int(n) < K]


def measure_url(few: Few) -> str:
    return f"/staff/c/bucha/measures/{few.measure_id}"


def session_url(few: Few) -> str:
    return f"/staff/c/bucha/sessions/{few.session_id}"


def test_a_viewer_gets_fewer_than_k_and_no_chart_for_a_tight_measure(app, staff, few):
    """Attack: a measure drawn 80 m around three offences; the viewer reads its counts."""
    html = _page(_as(app, staff["viewer"]), measure_url(few))
    section = _evaluation(html)
    rows = _offence_cells(section)
    assert rows["target"] == ["менше 10", "менше 10"], rows
    for cell in (c for row in rows.values() for c in row):
        assert cell in ("менше 10", "приховано", "0") or int(re.sub(r"\D", "", cell)) >= K, rows
    # The rest of the community is withheld too (not "fewer than"): with the year's
    # published total it would give target + ring back.
    assert rows["control"] == ["приховано", "приховано"], rows
    for n in few.target:
        assert f'<td class="num">{n}</td>' not in section.replace("\n", "")
    # No monthly chart, no quotient or odds ratio worked from the withheld counts.
    assert "<svg" not in section and "polyline" not in section
    assert "відношення шансів" not in section and "Зважений коефіцієнт" not in section
    assert "аналітик" in section  # it says where the detail is


def test_an_analyst_gets_the_exact_counts_and_the_chart(app, staff, few):
    html = _page(_as(app, staff["analyst"]), measure_url(few))
    section = _evaluation(html)
    assert _offence_cells(section)["target"] == [str(n) for n in few.target]
    assert "<svg" in section


def test_the_session_page_gives_a_viewer_no_small_count(app, staff, few):
    """Attack: a priority on one 250 m cell over a year; the viewer reads its evidence."""
    html = _page(_as(app, staff["viewer"]), session_url(few))
    assert PRIORITY in html
    assert _small_counts(html) == [], _small_counts(html)
    assert "менше 10 правопорушень" in html


def test_the_session_page_gives_a_coordinator_the_exact_count(app, staff, few):
    html = _page(_as(app, staff["coordinator"]), session_url(few))
    assert _small_counts(html) == [few.evidence]


def test_the_minutes_withhold_small_counts_from_a_viewer(app, staff, few):
    html = _page(_as(app, staff["viewer"]), session_url(few) + "/minutes")
    assert PRIORITY in html
    assert _small_counts(html) == [] and "менше 10 правопорушень" in html


def test_the_minutes_withhold_small_counts_for_a_coordinator_too(app, staff, few):
    """The minutes may leave the room: even the coordinator's copy withholds 0 < n < k,
    in the page and in the PDF, and says so."""
    client = _as(app, staff["coordinator"])
    html = _page(client, session_url(few) + "/minutes")
    assert _small_counts(html) == [] and "менше 10 правопорушень" in html
    assert "протокол" in re.sub(r"<[^>]+>", " ", html).split("Пріоритети", 1)[1].lower()
    response = client.get(session_url(few) + "/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(response.data)).pages
    body = " ".join(" ".join(p.extract_text() for p in pages).split())
    assert PRIORITY in body and "менше 10 правопорушень" in body, body
    assert _small_counts(body) == [], body


@pytest.mark.browser
def test_a_viewer_sees_the_session_map_with_the_published_hot_spots(browser, live_server,
                                                                     staff, few):  # fmt: skip
    """In Chromium: the viewer's session map loads the published year's hot spots (no 400,
    no script error) and says that other periods are for analysts."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    refused: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
    browser_sign_in(page, live_server, staff["viewer"])
    page.goto(f"{live_server}{session_url(few)}")
    expect(page.get_by_role("heading", name=SESSION_TITLE)).to_be_visible()
    expect(page.locator("#session")).to_have_attribute("data-ready", "1")
    assert int(page.locator("#session").get_attribute("data-hotspots") or "0") > 0
    cells = page.locator('path.leaflet-interactive[stroke="#5f4b3a"]')  # the hot spot outline
    expect(cells.first).to_be_visible()
    drawn = page.evaluate("geoappSession.hotspots().getLayers().length")
    assert drawn == int(page.locator("#session").get_attribute("data-hotspots"))
    props = page.evaluate("geoappSession.hotspots().getLayers()[0].feature.properties")
    assert props["count"] is None and props["cell_size_m"] in (500, 1000), props
    expect(page.locator("#session-filter")).to_contain_text("аналітик")
    expect(page.locator("#session-status")).to_have_text("")
    expect(page.get_by_test_id("priority")).to_contain_text("менше 10 правопорушень")
    page.screenshot(path="var/session-viewer.png")
    assert errors == [] and refused == [], (errors, refused)
    context.close()


@pytest.mark.parametrize(("parts", "exact", "shown"), [
    ((2, 1, 858), False, [None, None, "withheld"]),
    ((2, 40, 858), False, [None, 40, "withheld"]),
    ((0, 40, 858), False, [0, 40, 858]),
    ((3, 0, 0), False, [None, 0, 0]),
    ((2, 1, 858), True, [2, 1, 858]),
])  # fmt: skip
def test_small_parts_are_withheld_with_the_largest_other(parts, exact, shown):
    assert privacy.withhold_parts(parts, K, exact) == shown
    assert [privacy.withhold_small(n, K, exact) for n in (0, 1, 9, 10)] == (
        [0, 1, 9, 10] if exact else [0, None, None, 10])  # fmt: skip


def test_nothing_here_changed_the_measure(engine, few):
    """The gate is in what is shown, not in the evaluation: the service still counts exactly."""
    with Session(engine) as sess:
        measure = sess.query(Measure).filter_by(public_id=few.measure_id).one()
        effect = measure_effects.effect(sess, measure)
    assert isinstance(effect, measure_effects.Effect)
    assert (effect.incidents.target.before, effect.incidents.target.after) == few.target
