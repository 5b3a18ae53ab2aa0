"""Incident cells: the right counts in the right hexagons, suppressed for the public and
partners, exact for analysts; individual incidents for analysts only."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.services import incident_cells, tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.demo import load_synthetic_incidents
from geoapp.services.incidents import CellPolicy
from tests.conftest import DATA_DIR, sign_in
from tests.helpers import publish_year

K = 10
LAYER = "/api/v1/communities/bucha/layers/incident_cells.geojson"
POINTS = "/api/v1/communities/bucha/layers/incidents.geojson"
N = 3000


@pytest.fixture(scope="module")
def bucha_incidents(engine, app):
    """3,000 synthetic incidents in Bucha over 2024-2026, committed for the API to see."""
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        load_synthetic_incidents(sess, bucha, N, secret=app.config["SECRET_KEY"],
                                 data_dir=str(DATA_DIR), policy=CellPolicy(K, (500, 1000)),
                                 seed=7, today=date(2026, 11, 21))  # fmt: skip
        community_id = bucha.id
    for year in (2024, 2025):  # closed years, published as an office would
        publish_year(engine, "bucha", year, K, (500, 1000))
    yield community_id
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM incident_release WHERE community_id = :c"),
                     {"c": community_id})
        sess.execute(text("DELETE FROM incident_cell WHERE community_id = :c"), {"c": community_id})
        sess.execute(text("DELETE FROM incident WHERE community_id = :c"), {"c": community_id})
        sess.execute(text("DELETE FROM import_batch WHERE community_id = :c"), {"c": community_id})
        sess.commit()


@pytest.fixture()
def analyst(app, staff):
    client = app.test_client()
    sign_in(client, staff["analyst"])
    return client


def test_every_count_is_the_number_of_incidents_inside_its_hexagon(engine, bucha_incidents):
    """An independent spatial join (ST_Covers on the drawn hexagon) agrees with every cell."""
    with engine.connect() as conn:
        wrong = conn.execute(
            text("""
            SELECT ic.size_m, ic.i, ic.j, ic.n, count(inc.id) AS inside
            FROM incident_cell ic
            JOIN community c ON c.id = ic.community_id
            LEFT JOIN incident inc ON inc.community_id = c.id
             AND inc.occurred_on >= ic.period_start
             AND inc.occurred_on < ic.period_start + interval '1 year'
             AND ST_Covers(ST_Hexagon(ic.size_m, ic.i, ic.j,
                                      ST_SetSRID(ST_MakePoint(0, 0), c.metric_srid)),
                           ST_Transform(inc.point, c.metric_srid))
            WHERE ic.community_id = :c AND ic.period = 'year' AND ic.category_id IS NULL
              AND ic.i IS NOT NULL
            GROUP BY ic.id HAVING count(inc.id) <> ic.n"""),
            {"c": bucha_incidents},
        ).all()
        totals = conn.execute(
            text("""
            SELECT size_m, sum(n) FROM incident_cell
            WHERE community_id = :c AND period = 'year' AND category_id IS NULL
              AND i IS NOT NULL GROUP BY size_m"""),
            {"c": bucha_incidents},
        ).all()
    assert wrong == []
    assert dict(totals) == {250: N, 500: N, 1000: N}


def test_every_kept_total_is_the_number_of_incidents_of_its_period_and_group(
    engine, bucha_incidents
):
    """The community totals kept per month, quarter, year and group, for every size."""
    with engine.connect() as conn:
        wrong = conn.execute(
            text("""
            SELECT ic.size_m, ic.period, ic.period_start, ic.category_id, ic.n,
                   (SELECT count(*) FROM incident inc
                    WHERE inc.community_id = ic.community_id
                      AND inc.occurred_on >= ic.period_start
                      AND inc.occurred_on < ic.period_start + CASE ic.period
                          WHEN 'month' THEN interval '1 month'
                          WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END
                      AND (ic.category_id IS NULL OR inc.category_id = ic.category_id)) AS real
            FROM incident_cell ic
            WHERE ic.community_id = :c AND ic.i IS NULL"""),
            {"c": bucha_incidents},
        ).all()
        kinds = conn.execute(
            text("SELECT DISTINCT period FROM incident_cell WHERE community_id = :c AND i IS NULL"),
            {"c": bucha_incidents},
        ).scalars()
        assert set(kinds) == {"month", "quarter", "year"}
    assert wrong and [r for r in wrong if r.n != r.real] == []
    assert len(wrong) > 3 * 36  # every size has every month of 2024-2026, and groups


@pytest.mark.parametrize(("period", "group", "start", "stop"), [
    ("2025-Q3", None, "2025-07-01", "2025-10-01"),
    ("2024-02", None, "2024-02-01", "2024-03-01"),
    ("2025", "theft", "2025-01-01", "2026-01-01"),
])  # fmt: skip
def test_a_finer_table_counted_on_request_agrees_with_a_spatial_join(
    analyst, engine, bucha_incidents, period, group, start, stop
):
    """Months, quarters and single groups are counted when asked: each count is still the
    number of incidents of that period and group inside the drawn hexagon."""
    query = {"period": period, "size": 250, **({"group": group} if group else {})}
    body = analyst.get(LAYER, query_string=query).get_json()
    got = {str(f["geometry"]["coordinates"]): f["properties"]["count"] for f in body["features"]}
    with engine.connect() as conn:
        expected = conn.execute(
            text("""
            SELECT ST_AsGeoJSON(ST_Transform(h.geom, 4326), 6), count(*) FROM incident inc
            JOIN community c ON c.id = inc.community_id
            JOIN category cat ON cat.id = inc.category_id
            CROSS JOIN LATERAL ST_HexagonGrid(250, ST_Transform(inc.point, c.metric_srid)) h
            WHERE inc.community_id = :c AND inc.occurred_on >= CAST(:start AS date)
              AND inc.occurred_on < CAST(:stop AS date)
              AND (CAST(:group AS text) IS NULL OR cat.code = :group)
              AND ST_Covers(h.geom, ST_Transform(inc.point, c.metric_srid))
            GROUP BY h.geom"""),
            {"c": bucha_incidents, "start": start, "stop": stop, "group": group},
        ).all()
    assert got and got == {str(json.loads(g)["coordinates"]): n for g, n in expected}
    assert body["metadata"]["total"]["count"] == sum(got.values())
    # Exact for the analyst: nothing withheld; for anyone else every count is withheld.
    assert all(f["properties"]["suppressed"] is False for f in body["features"])
    with Session(engine) as sess:
        group_id = incident_cells.group_ids(sess)[group] if group else None
        query = incident_cells.CellQuery(bucha_incidents, 250, incident_cells.parse_period(period),
                                         group_id)  # fmt: skip
        features, total = incident_cells.cells(sess, query, exact=False)
    assert len(features) == len(got) and total == {"count": None, "suppressed": True}
    assert all(p["count"] is None and p["suppressed"] for p, _geometry in features)


def test_the_public_sees_no_small_count_and_the_analyst_sees_them_all(
    client, analyst, bucha_incidents
):
    public = client.get(LAYER, query_string={"period": "2025"}).get_json()
    size = public["metadata"]["cell_size_m"]
    assert size in (500, 1000), "a year is published at one public size"
    exact = analyst.get(LAYER, query_string={"period": "2025", "size": size}).get_json()
    assert public["metadata"]["k"] == K and public["metadata"]["exact_counts"] is False
    published = [f["properties"] for f in public["features"]]
    assert published, "Bucha has incidents in 2025"
    assert all(p["count"] is None or p["count"] >= K for p in published)
    assert all((p["count"] is None) == p["suppressed"] for p in published)
    withheld = sum(p["suppressed"] for p in published)
    assert withheld > 0, "synthetic data this sparse must have small cells"

    # The same cells, by geometry; the analyst's counts are exact and never withheld.
    def by_cell(body: dict) -> dict:
        return {str(f["geometry"]["coordinates"]): f["properties"] for f in body["features"]}

    exact_by_cell, public_by_cell = by_cell(exact), by_cell(public)
    assert exact_by_cell.keys() == public_by_cell.keys()
    assert all(p["count"] and not p["suppressed"] for p in exact_by_cell.values())
    small = [c for c, p in exact_by_cell.items() if p["count"] < K]
    assert small and all(public_by_cell[c]["suppressed"] for c in small)
    assert sum(p["count"] for p in exact_by_cell.values()) == exact["metadata"]["total"]["count"]
    # The map is not a sea of grey: busy cells keep their counts.
    shown = [p["count"] for p in published if p["count"]]
    assert shown and all(n >= K for n in shown)
    # The other public size is not published for this year: two partitions could be linked.
    other = 1000 if size == 500 else 500
    refused = client.get(LAYER, query_string={"period": "2025", "size": other, "lang": "en"})
    assert refused.status_code == 400
    assert f"published at {size} m cells only" in refused.get_json()["detail"]


def test_a_partner_token_gets_the_suppressed_cells_and_a_bad_token_401(
    client, engine, bucha_incidents
):
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Громадська варта", [get_by_slug(sess, "bucha")], 30,
                                    actor="test")  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(LAYER, query_string={"period": "2025"}, headers=headers).get_json()
    assert body["metadata"]["exact_counts"] is False
    assert all(f["properties"]["count"] is None or f["properties"]["count"] >= K
               for f in body["features"])  # fmt: skip
    bad = client.get(LAYER, headers={"Authorization": "Bearer gp_not-a-token"})
    assert bad.status_code == 401 and bad.mimetype == "application/problem+json"
    # A partner has no individual incidents either.
    assert client.get(POINTS, headers=headers).status_code == 404


def test_individual_incidents_only_for_analysts(client, analyst, app, staff, bucha_incidents):
    assert client.get(POINTS).status_code == 404
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    assert viewer.get(POINTS).status_code == 404
    body = analyst.get(POINTS, query_string={"period": "2025-Q3", "group": "theft"}).get_json()
    assert body["features"], "theft is the commonest offence"
    for feature in body["features"]:
        props = feature["properties"]
        assert set(props) == {"group", "group_uk", "group_en", "article", "occurred_on"}
        assert props["group"] == "theft"
        assert "2025-07-01" <= props["occurred_on"] < "2025-10-01"


def test_period_and_group_filters_add_up(analyst, bucha_incidents):
    """Quarters sum to the year; a group's cells are part of all groups."""

    def total(**q) -> int:
        return analyst.get(LAYER, query_string={"size": 1000, **q}).get_json()["metadata"][
            "total"]["count"]  # fmt: skip

    year = total(period="2025")
    assert year == sum(total(period=f"2025-Q{q}") for q in range(1, 5)) > 0
    assert 0 < total(period="2025", group="theft") < year
    assert total(period="2025-03") <= total(period="2025-Q1")


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"period": "2025-13"}, "not a period"),
        ({"period": "last year"}, "not a period"),
        ({"size": "250"}, "size must be one of 500, 1000"),
        ({"size": "abc"}, "size must be one of"),
        ({"group": "piracy"}, "no incident group"),
        ({"group": "theft", "period": "2025"}, "per whole year for all groups"),
        ({"period": "2025-Q1"}, "per whole year for all groups"),
        ({"period": "2026"}, "2026 is not published; published years: 2025, 2024"),
    ],
)
def test_bad_filters_get_a_problem(client, bucha_incidents, query, detail):
    resp = client.get(LAYER, query_string={**query, "lang": "en"})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert detail in resp.get_json()["detail"]


def test_a_bad_filter_is_explained_in_ukrainian_by_default(client, bucha_incidents):
    detail = client.get(LAYER, query_string={"size": "250"}).get_json()["detail"]
    assert detail == "розмір комірки має бути одним із: 500, 1000 (метрів)"


def test_the_public_map_offers_the_filter_and_staff_page_the_exact_layer(
    client, analyst, bucha_incidents
):
    page = client.get("/c/bucha").get_data(as_text=True)
    assert 'id="incident-filter"' in page and 'data-credentials="omit"' in page
    assert "2025 рік" in page and "250 м" not in page
    staff_page = analyst.get("/staff/c/bucha/incidents/").get_data(as_text=True)
    assert 'data-credentials="same-origin"' in staff_page and "data-points-url" in staff_page
    assert "250 м" in staff_page
